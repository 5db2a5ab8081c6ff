#!/usr/bin/env bash
# MNIST rows: BSTDG 784-600-10 (mnist_bstdg) and 784-400-10 (mnist_bstdg_400), seeds 1-10.
# Output: logs/tables/mnist/<job>/ (runs), results/mnist/ (tables, plots).
source "$(dirname "$0")/_table.sh"
table mnist experiment=mnist_bstdg,mnist_bstdg_400 seed="${SEEDS:-1,2,3,4,5,6,7,8,9,10}" "$@"
