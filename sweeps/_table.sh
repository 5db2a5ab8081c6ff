# Shared by the table recipes: run one Hydra multirun into $SWEEP_DIR, then bstdg-report it.
# Usage (from a recipe): table NAME <bstdg-train overrides...>; extra recipe arguments are
# appended as overrides, e.g. `sweeps/table_mnist.sh trainer.max_epochs=3`; SEEDS=1 runs one
# seed instead of the recipe's list.
set -euo pipefail
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" NUMBA_NUM_THREADS="${NUMBA_NUM_THREADS:-1}"
export WANDB_MODE="${WANDB_MODE:-offline}"

table() {
  local name=$1; shift
  local sweep_dir="${SWEEP_ROOT:-logs/tables}/$name"
  bstdg-train -m launcher=joblib logger=csv hydra.sweep.dir="$sweep_dir" "$@"
  bstdg-report "$sweep_dir" --out "${REPORT_ROOT:-results}/$name"
}
