#!/usr/bin/env bash
# Fashion-MNIST row: BSTDG 784-1000-10 (fmnist_bstdg), seeds 1-10.
# Output: logs/tables/fmnist/<job>/ (runs), results/fmnist/ (tables, plots).
source "$(dirname "$0")/_table.sh"
table fmnist experiment=fmnist_bstdg seed="${SEEDS:-1,2,3,4,5,6,7,8,9,10}" "$@"
