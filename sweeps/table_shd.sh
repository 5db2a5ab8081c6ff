#!/usr/bin/env bash
# SHD row: BSTDG 700-400-20 on first-spike times. Needs SHD/shd_{train,test}.h5 under
# $BSTDG_DATA_DIR (README, Data). Without the real files, a pipeline check on synthetic
# files: python sweeps/fake_shd.py /tmp/fake && BSTDG_DATA_DIR=/tmp/fake sweeps/table_shd.sh
# Output: results/shd/.
source "$(dirname "$0")/_table.sh"
table shd experiment=shd_bstdg seed=${SEEDS:-1,2,3} "$@"
