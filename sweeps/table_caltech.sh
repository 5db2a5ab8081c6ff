#!/usr/bin/env bash
# Caltech Face/Motorbike row: BSTDG (caltech_bstdg), splits 1-10 (the seed draws the split).
# Output: logs/tables/caltech/<job>/ (runs), results/caltech/ (tables, plots).
source "$(dirname "$0")/_table.sh"
table caltech experiment=caltech_bstdg seed="${SEEDS:-1,2,3,4,5,6,7,8,9,10}" "$@"
