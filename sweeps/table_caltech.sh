#!/usr/bin/env bash
# Caltech Face/Motorbike rows: BSTDG (caltech_bstdg), splits 1-10 (the seed draws the split), and
# the S4NN baseline in the platform on the same input, splits 1-5.
# Output: logs/tables/caltech/ and logs/tables/caltech_baselines/ (runs), results/caltech*/.
source "$(dirname "$0")/_table.sh"
table caltech experiment=caltech_bstdg seed="${SEEDS:-1,2,3,4,5,6,7,8,9,10}" "$@"
table caltech_baselines experiment=caltech_s4nn seed="${SEEDS:-1,2,3,4,5}" "$@"
