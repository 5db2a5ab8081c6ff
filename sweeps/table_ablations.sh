#!/usr/bin/env bash
# Kernel x threshold-mode ablation (MNIST 784-600-10 BSTDG), seeds 1-3, 3-epoch protocol.
# Output: logs/tables/ablations/<job>/ (runs), results/ablations/.
source "$(dirname "$0")/_table.sh"
table ablations experiment=mnist_bstdg model.net.rule.kernel=const,exp,linear_relpsp \
  model.net.threshold_mode=fixed,per_layer,per_neuron seed="${SEEDS:-1,2,3}" trainer.max_epochs=3 "$@"
