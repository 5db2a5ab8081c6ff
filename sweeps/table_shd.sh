#!/usr/bin/env bash
# SHD row: BSTDG 700-400-20 on first-spike times. Needs SHD/shd_{train,test}.h5 under
# $BSTDG_DATA_DIR (README, Data). Output: results/shd/.
source "$(dirname "$0")/_table.sh"
table shd experiment=shd_bstdg seed=${SEEDS:-1,2,3} "$@"
