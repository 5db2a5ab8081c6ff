#!/usr/bin/env bash
# Each baseline's released training loop (literal transcription, tests/helpers/
# released_updates.py) beside the platform's, same weights, same samples, seed 1
# (sweeps/released_loop.py). One core: BS4NN 66,000 samples (about 20 minutes), S4NN three
# epochs (about 20 minutes), SSTDP 110,000 samples: two epochs of batches of 64, then one
# batch of 48 (about 40 minutes).
# QUICK=1: 512 samples each. Output: logs/tables/released_loop/<baseline>/ (run records),
# results/released_loop/<baseline>/.
source "$(dirname "$0")/_table.sh"
loop() {
  local name=$1 baseline=$2; shift 2
  local out="${SWEEP_ROOT:-logs/tables}/$name"
  local quick=()
  if [ "${QUICK:-0}" = 1 ]; then quick=(--samples 512 --eval-every 256); fi
  for seed in ${SEEDS//,/ }; do
    python "$(dirname "$0")/released_loop.py" --baseline "$baseline" --out "$out" \
      --seed "$seed" "$@" "${quick[@]}"
  done
  bstdg-report "$out" --out "${REPORT_ROOT:-results}/$name"
}
SEEDS="${SEEDS:-1}"
loop released_loop/bs4nn bs4nn --samples 66000 --eval-every 11000 "$@"
loop released_loop/s4nn s4nn --samples 165000 --eval-every 11000 "$@"
loop released_loop/sstdp sstdp --samples 110000 --eval-every 11008 "$@"
