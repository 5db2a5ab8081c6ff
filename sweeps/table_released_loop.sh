#!/usr/bin/env bash
# The released BS4NN loop (literal numpy transcription of BS4NN_mnist.ipynb) beside the
# platform's online kernel, same weights, same samples, seed 1 (sweeps/released_loop.py).
# About 15 ms a sample on one core for the released loop: 66,000 samples take about 20 minutes.
# QUICK=1: 512 samples. Output: logs/tables/released_loop/ (run records), results/released_loop/.
source "$(dirname "$0")/_table.sh"
loop() {
  local name=$1; shift
  local out="${SWEEP_ROOT:-logs/tables}/$name"
  local quick=()
  if [ "${QUICK:-0}" = 1 ]; then quick=(--samples 512 --eval-every 256); fi
  for seed in ${SEEDS//,/ }; do
    python "$(dirname "$0")/released_loop.py" --out "$out" --seed "$seed" "$@" "${quick[@]}"
  done
  bstdg-report "$out" --out "${REPORT_ROOT:-results}/$name"
}
SEEDS="${SEEDS:-1}"
loop released_loop --samples 66000 --eval-every 11000 "$@"
