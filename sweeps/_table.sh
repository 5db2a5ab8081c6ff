# Shared by the table recipes: one Hydra multirun into $SWEEP_ROOT/<name>, then its report.
#   SEEDS=1,2      run these seeds instead of the recipe's
#   QUICK=1        smoke run: one epoch of a few batches, into logs/quick/ unless SWEEP_ROOT is set
#   SWEEP_ROOT=D   where the runs go (default logs/tables, the folders docs/results.yaml reads)
#   RESUME=1       rerun after an interruption: finished runs are kept, the others continue
#                  from their last.ckpt (ckpt_path=auto); without it every run starts afresh
# Extra recipe arguments are appended as bstdg-train overrides.
set -euo pipefail
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" NUMBA_NUM_THREADS="${NUMBA_NUM_THREADS:-1}"
export WANDB_MODE="${WANDB_MODE:-offline}"

QUICK_OVERRIDES=()
if [ "${QUICK:-0}" = 1 ]; then
  QUICK_OVERRIDES=(trainer.max_epochs=1 +trainer.limit_train_batches=3
                   +trainer.limit_val_batches=2 +trainer.limit_test_batches=2)
  SWEEP_ROOT="${SWEEP_ROOT:-logs/quick}"
fi
RESUME_OVERRIDES=()
if [ "${RESUME:-0}" = 1 ]; then
  RESUME_OVERRIDES=(ckpt_path=auto)
fi

table() {
  local name=$1; shift
  local sweep_dir="${SWEEP_ROOT:-logs/tables}/$name"
  bstdg-train -m launcher=joblib logger=csv hydra.sweep.dir="$sweep_dir" "$@" \
    "${QUICK_OVERRIDES[@]}" "${RESUME_OVERRIDES[@]}"
  bstdg-report "$sweep_dir" --out "${REPORT_ROOT:-results}/$name"
}
