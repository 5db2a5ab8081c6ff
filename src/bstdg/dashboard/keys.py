"""Metric and config names the dashboards plot, in one place (design.md §3 names them).

The panels are built from these names only; ``tests/entry/dashboard`` checks each one against
the metrics and config keys of a real run, so a renamed metric shows up as a failing test.
"""

from __future__ import annotations

EPOCH = "epoch"  # Lightning writes the epoch into every logged row: the x axis of curves
CURVE_STAGES = ("train", "val")

ACC = "acc"
ACC_TIES = "acc_ties"
LOSS = "loss"
VAL_ACC_BEST = "val/acc_best"
HIDDEN_SPIKES = "hidden_spikes"
HIDDEN_SPIKES_BEFORE = "hidden_spikes_before_decision"
LAYER_SPIKES_REGEX = r"val/spikes/layer\d+"  # val/spikes/layer1, layer2, ... (last: output)
DECISION_TIME = "decision_time"
NO_OUTPUT = "no_output_spike_frac"
DEAD = "hidden_dead_frac"
SATURATED = "hidden_saturated_frac"
SYNOPS = "synops"

EPOCH_TIME = "time/epoch_s"
THROUGHPUT = "time/train_samples_per_s"
INFER_US = "time/infer_us_per_sample"
INFER_EARLY_EXIT_US = "time/infer_early_exit_us_per_sample"

# W&B config keys (dotted, as the runs log their hyperparameters) of the swept settings:
# the axes of the parallel-coordinates panel; "T" and "kernel" also feed the sweep plots.
# Change them here if the logged config changes.
CONFIG_KEYS: dict[str, str] = {
    "T": "encoder.T",
    "kernel": "model.net.rule.kernel",
    "threshold_mode": "model.net.threshold_mode",
    "lr": "model.optimizer.lr",
    "tau_fraction": "model.net.rule.tau_fraction",
    "gamma": "loss.gamma",
}


def stage_metric(stage: str, name: str) -> str:
    """``train/acc``, ``val/hidden_spikes``, ..."""
    return f"{stage}/{name}"


def curves(name: str) -> list[str]:
    """The train and val curves of one metric."""
    return [stage_metric(stage, name) for stage in CURVE_STAGES]


def final_metric(name: str) -> str:
    """The final test value of one metric (a run's W&B summary)."""
    return stage_metric("test", name)
