#!/usr/bin/env bash
# Accuracy vs window length T (method.md §4.2 reading 1 of "up to 30x faster inference").
set -euo pipefail
exec bstdg-train -m experiment=mnist_bstdg encoder.T=8,16,32,64,128,256 seed=1,2,3 "$@"
