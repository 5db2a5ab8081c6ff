#!/usr/bin/env bash
# Validation screen of the mnist_bstdg defaults that docs/tuning.md could not rank on validation:
# one lever at a time against the defaults, on seeds 11-13 (never reported in a table), ranked
# on val/acc_best. EPOCHS=10 (default) runs the whole cosine schedule in 10 epochs; EPOCHS=30
# is the full recipe. LEVERS="clip2 fixed_thr" runs a subset.
# Output: logs/screens/mnist_e$EPOCHS/<lever>/ (runs), results/screens/mnist_e$EPOCHS/<lever>/.
source "$(dirname "$0")/_table.sh"
SWEEP_ROOT="${SWEEP_ROOT:-logs/screens}"
EPOCHS="${EPOCHS:-10}"
declare -A LEVER=(
  [default]=""
  [clip2]="model.net.latent_clip=2.0"
  [fixed_thr]="model.net.threshold_mode=fixed"
  [batch16]="data.batch_size=16"
  [gamma10]="loss.gamma=10.0"
  [out_lr2]="model.layer_lr_scale=[1.0,2.0]"
)
for lever in ${LEVERS:-default clip2 fixed_thr batch16 gamma10 out_lr2}; do
  [ -v "LEVER[$lever]" ] || { echo "unknown lever $lever; valid: ${!LEVER[*]}" >&2; exit 2; }
  REPORT_ROOT="${REPORT_ROOT:-results}/screens" \
    table "mnist_e$EPOCHS/$lever" experiment=mnist_bstdg seed="${SEEDS:-11,12,13}" \
      trainer.max_epochs="$EPOCHS" ${LEVER[$lever]} "$@"
done
