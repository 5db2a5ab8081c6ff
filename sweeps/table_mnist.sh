#!/usr/bin/env bash
# MNIST rows: BSTDG 784-600-10 and 784-400-10, binarized, seeds 1-3.
# CPU (2 cores, 2 jobs at a time, 1 thread each): about 9-12 min per job, ~35 min in all.
# Output: logs/tables/mnist/<job>/ (runs) and results/mnist/ (tables, plots).
source "$(dirname "$0")/_table.sh"
table mnist experiment=mnist_bstdg,mnist_bstdg_400 seed=${SEEDS:-1,2,3} "$@"
