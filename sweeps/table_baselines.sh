#!/usr/bin/env bash
# Baselines in the platform (MNIST, released settings), seeds 1-3, under a shortened protocol:
# SSTDP 10 epochs (published: 100), S4NN and BS4NN one epoch of batch-1 SGD (published: 100
# and 200 epochs).
# Output: logs/tables/baselines/{sstdp,s4nn,bs4nn}/ (runs), results/baselines/{...}.
source "$(dirname "$0")/_table.sh"
table baselines/sstdp experiment=mnist_sstdp seed="${SEEDS:-1,2,3}" trainer.max_epochs=10 "$@"
table baselines/s4nn experiment=mnist_s4nn seed="${SEEDS:-1,2,3}" trainer.max_epochs=1 "$@"
table baselines/bs4nn experiment=mnist_bs4nn seed="${SEEDS:-1,2,3}" trainer.max_epochs=1 "$@"
