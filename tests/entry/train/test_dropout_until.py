"""The dropout schedule policy: spike dropout in the first part of the run only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bstdg.lit.policies import dropout_epochs
from bstdg.train import train
from helpers.hydra_compose import SYNTHETIC

SCHEDULE = ["+callbacks/policies=dropout_schedule"]


@pytest.mark.parametrize(("until", "max_epochs", "epochs"),
                         [(0.8, 30, 24), (0.5, 3, 2), (0.01, 30, 1), (1.0, 7, 7)])
def test_dropout_epochs_rounds_the_fraction_of_the_run(until: float, max_epochs: int,
                                                       epochs: int) -> None:
    assert dropout_epochs(until, max_epochs) == epochs


def test_dropout_epochs_needs_an_epoch_limit() -> None:
    with pytest.raises(ValueError,
                       match="trainer.max_epochs=-1.*callbacks.dropout_schedule=null"):
        dropout_epochs(0.8, -1)


def test_dropout_is_on_for_the_first_epochs_and_off_after(make_cfg) -> None:
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=3", "model.net.hidden_dropout=0.3",
                   "model.net.input_dropout=0.1", *SCHEDULE, "callbacks.dropout_schedule.until=0.5",
                   "logger=csv")
    metrics, objects = train(cfg)
    module = objects["model"]
    # round(0.5 * 3) = 2 epochs with dropout; the third without; the net's own values are
    # restored when fit ends
    assert (module.net.hidden_dropout, module.net.input_dropout) == (0.3, 0.1)
    assert metrics["train/dropout_on"] == 0.0
    csv = next(Path(cfg.paths.output_dir).rglob("metrics.csv"))
    on = pd.read_csv(csv).dropna(subset=["train/dropout_on"])["train/dropout_on"].tolist()
    assert on == [1.0, 1.0, 0.0]


def test_dropout_until_outside_the_run_is_refused(make_cfg) -> None:
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=1", *SCHEDULE,
                   "callbacks.dropout_schedule.until=1.5")
    with pytest.raises(Exception, match=r"callbacks.dropout_schedule.until must be a fraction "
                                        r"of the run in \(0, 1\]"):
        train(cfg)
