#!/usr/bin/env bash
# Caltech Face/Motorbike inputs without spikes: the test accuracy of a logistic regression and a
# 100-unit ReLU MLP on the pixels (or DoG ON/OFF maps) the spiking nets encode, splits 1-5
# (sweeps/caltech_probe.py). Random 200-per-class splits at the platform's 20x31 and at larger
# sizes up to S4NN's 160x250, and the fixed sdnn list split. QUICK=1: 20x31 only, 5 epochs.
# Output: logs/tables/caltech_probe/{random,sdnn}/ (run records), results/caltech_probe/...
source "$(dirname "$0")/_table.sh"
probe() {
  local name=$1; shift
  local out="${SWEEP_ROOT:-logs/tables}/$name"
  local quick=()
  if [ "${QUICK:-0}" = 1 ]; then quick=(--sizes 20x31 --epochs 5); fi
  python "$(dirname "$0")/caltech_probe.py" --out "$out" --seeds ${SEEDS//,/ } "$@" "${quick[@]}"
  bstdg-report "$out" --out "${REPORT_ROOT:-results}/$name"
}
SEEDS="${SEEDS:-1,2,3,4,5}"
probe caltech_probe/random --split random --sizes 20x31 40x62 --filters none on_off "$@"
probe caltech_probe/random_large --split random --sizes 80x125 160x250 --filters none on_off \
  --models logistic "$@"
probe caltech_probe/sdnn --split sdnn --sizes 20x31 160x250 --filters none on_off \
  --models logistic "$@"
