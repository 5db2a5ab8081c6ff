#!/usr/bin/env bash
# Caltech Face/Motorbike row: BSTDG on 20 x 31 greyscale, 5 random splits (seed = split).
# CPU: under a minute per job. Output: results/caltech/.
source "$(dirname "$0")/_table.sh"
table caltech experiment=caltech_bstdg seed=${SEEDS:-1,2,3,4,5} "$@"
