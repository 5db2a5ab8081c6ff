#!/usr/bin/env bash
# Validation screen of an experiment's defaults: one lever at a time against the defaults, on
# seeds 11-13 (never reported in a table), ranked on val/acc_best (docs/tuning.md). EPOCHS=10
# (default) runs the whole cosine schedule in 10 epochs. LEVERS="clip2 fixed_thr" runs a subset.
#   bash sweeps/screen_defaults.sh mnist_bstdg        (also mnist_bstdg_400, fmnist_bstdg)
# Output: logs/screens/<experiment>_e$EPOCHS/<lever>/ (runs), results/screens/... (reports).
source "$(dirname "$0")/_table.sh"
SWEEP_ROOT="${SWEEP_ROOT:-logs/screens}"
EPOCHS="${EPOCHS:-10}"
EXPERIMENT="${1:?usage: screen_defaults.sh EXPERIMENT [overrides...]}"; shift
declare -A LEVER=([default]="")
case "$EXPERIMENT" in
  mnist_bstdg) LEVER+=(
    [clip2]="model.net.latent_clip=2.0" [fixed_thr]="model.net.threshold_mode=fixed"
    [batch16]="data.batch_size=16" [gamma10]="loss.gamma=10.0"
    [out_lr2]="model.layer_lr_scale=[1.0,2.0]" [drop01]="model.net.hidden_dropout=0.1"
    [drop03]="model.net.hidden_dropout=0.3" [lr003]="model.optimizer.lr=0.03"
    [T32]="encoder.T=32") ;;
  mnist_bstdg_400) LEVER+=(
    [no_drop]="model.net.hidden_dropout=0.0" [out_lr1]="model.layer_lr_scale=[1.0,1.0]"
    [T16]="encoder.T=16" [thr25]="model.net.threshold_init=[25.0,15.0]") ;;
  fmnist_bstdg) LEVER+=(
    [no_drop]="model.net.hidden_dropout=0.0" [out_lr2]="model.layer_lr_scale=[1.0,2.0]"
    [T32]="encoder.T=32" [out_thr30]="model.net.threshold_init=[25.0,30.0]") ;;
  *) echo "no levers for experiment $EXPERIMENT; add them to $0" >&2; exit 2 ;;
esac
for lever in ${LEVERS:-${!LEVER[*]}}; do
  [ -v "LEVER[$lever]" ] || { echo "unknown lever $lever; valid: ${!LEVER[*]}" >&2; exit 2; }
  REPORT_ROOT="${REPORT_ROOT:-results}/screens" \
    table "${EXPERIMENT}_e$EPOCHS/$lever" experiment="$EXPERIMENT" seed="${SEEDS:-11,12,13}" \
      trainer.max_epochs="$EPOCHS" ${LEVER[$lever]} "$@"
done
