#!/usr/bin/env bash
# Baselines in the platform at their published protocols (MNIST, released settings), seeds 1-3:
# SSTDP 100 epochs, S4NN 100 epochs and BS4NN 200 epochs of per-sample SGD (model.online).
# Each run also records the papers' best-test-epoch accuracy (test_epoch/acc_best) beside the
# accuracy of its best-validation checkpoint (test/acc). About 17, 28 and 35 minutes a run on
# one core; RESUME=1 continues an interrupted recipe where each run stopped.
# Output: logs/tables/baselines/{sstdp,s4nn,bs4nn}/ (runs), results/baselines/{...}.
source "$(dirname "$0")/_table.sh"
table baselines/sstdp experiment=mnist_sstdp seed="${SEEDS:-1,2,3}" "$@"
table baselines/s4nn experiment=mnist_s4nn seed="${SEEDS:-1,2,3}" "$@"
table baselines/bs4nn experiment=mnist_bs4nn seed="${SEEDS:-1,2,3}" "$@"
