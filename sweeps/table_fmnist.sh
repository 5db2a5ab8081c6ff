#!/usr/bin/env bash
# Fashion-MNIST row: BSTDG 784-1000-10, binarized, seeds 1-3.
# CPU: 20 epochs, about 10-15 min per job, ~25 min in all. Output: results/fmnist/.
source "$(dirname "$0")/_table.sh"
table fmnist experiment=fmnist_bstdg seed=${SEEDS:-1,2,3} "$@"
