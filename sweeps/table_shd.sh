#!/usr/bin/env bash
# SHD row: BSTDG 700-400-20 (shd_bstdg) on first-spike times, seeds 1-3.
# Real data: SHD/shd_{train,test}.h5 under $BSTDG_DATA_DIR (docs/data.md) -> logs/tables/shd/.
# SYNTHETIC=1: a pipeline check on SHD-format files written by sweeps/fake_shd.py into
# logs/fake_shd/ -> logs/tables/shd_synthetic/ (the row docs/results.md shows without SHD).
source "$(dirname "$0")/_table.sh"
if [ "${SYNTHETIC:-0}" = 1 ]; then
  fake_root="${SWEEP_ROOT:-logs/tables}/../fake_shd"
  python "$(dirname "$0")/fake_shd.py" "$fake_root"
  BSTDG_DATA_DIR="$(cd "$fake_root" && pwd)"
  export BSTDG_DATA_DIR
  table shd_synthetic experiment=shd_bstdg seed="${SEEDS:-1,2,3}" "$@"
else
  table shd experiment=shd_bstdg seed="${SEEDS:-1,2,3}" "$@"
fi
