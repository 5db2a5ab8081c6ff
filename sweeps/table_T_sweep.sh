#!/usr/bin/env bash
# Speed of decision: accuracy, decision step and hidden spikes against the window T
# (MNIST 784-600-10 BSTDG), seeds 1-3, a shortened 3-epoch protocol.
# Output: logs/tables/T_sweep/<job>/ (runs), results/T_sweep/ (acc_vs_T plot included).
source "$(dirname "$0")/_table.sh"
table T_sweep experiment=mnist_bstdg encoder.T=8,16,32,64,128,256 seed="${SEEDS:-1,2,3}" \
  trainer.max_epochs=3 "$@"
