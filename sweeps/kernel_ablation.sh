#!/usr/bin/env bash
# Kernel x T ablation on MNIST 784-600-10 (method.md §5 question 1), as one Hydra multirun.
# Pass launcher=joblib (local parallel) or launcher=slurm to scale out.
set -euo pipefail
exec bstdg-train -m experiment=mnist_bstdg \
  model.net.rule.kernel=const,exp,linear_relpsp \
  encoder.T=16,64,256 \
  seed=1,2,3 "$@"
