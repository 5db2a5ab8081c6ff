#!/usr/bin/env bash
# Validation screen of an experiment's defaults: one lever at a time against the defaults, on
# seeds 11-13 (never reported in a table), ranked on val/acc_best (docs/tuning.md). EPOCHS=10
# (default) runs the whole cosine schedule in 10 epochs. LEVERS="clip2 fixed_thr" runs a subset.
# caltech_bstdg keeps its 20 epochs, runs seeds 11-20 and validates on a quarter of the training
# images (its default tenth, 40 images, saturates).
#   bash sweeps/screen_defaults.sh mnist_bstdg   (also mnist_bstdg_400, fmnist_bstdg, caltech_bstdg)
# Output: logs/screens/<experiment>_e$EPOCHS/<lever>/ (runs), results/screens/... (reports).
source "$(dirname "$0")/_table.sh"
SWEEP_ROOT="${SWEEP_ROOT:-logs/screens}"
EXPERIMENT="${1:?usage: screen_defaults.sh EXPERIMENT [overrides...]}"; shift
declare -A LEVER=([default]="")
BASE=() SCREEN_SEEDS=11,12,13
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
  caltech_bstdg) EPOCHS="${EPOCHS:-20}" SCREEN_SEEDS=11,12,13,14,15,16,17,18,19,20
    BASE=(data.val_size=0.25)
    LEVER+=(
    [hidden50]="model.net.hidden=[50]" [hidden200]="model.net.hidden=[200]"
    [T32]="encoder.T=32" [T128]="encoder.T=128"
    [ithr03]="encoder.intensity_threshold=0.3" [ithr07]="encoder.intensity_threshold=0.7"
    [thr20]="model.net.threshold_init=[20.0,15.0]" [size40]="data.resize=[40,62]") ;;
  *) echo "no levers for experiment $EXPERIMENT; add them to $0" >&2; exit 2 ;;
esac
EPOCHS="${EPOCHS:-10}"
for lever in ${LEVERS:-${!LEVER[*]}}; do
  [ -v "LEVER[$lever]" ] || { echo "unknown lever $lever; valid: ${!LEVER[*]}" >&2; exit 2; }
  REPORT_ROOT="${REPORT_ROOT:-results}/screens" \
    table "${EXPERIMENT}_e$EPOCHS/$lever" experiment="$EXPERIMENT" seed="${SEEDS:-$SCREEN_SEEDS}" \
      trainer.max_epochs="$EPOCHS" "${BASE[@]}" ${LEVER[$lever]} "$@"
done
