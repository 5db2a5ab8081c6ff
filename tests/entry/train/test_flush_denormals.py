"""FlushDenormals: subnormal floats are zero while the Trainer trains, and not after."""

from __future__ import annotations

from typing import Any

import pytest
import pytorch_lightning as pl
import torch

from bstdg.lit.callbacks import FlushDenormals
from helpers.hydra_compose import compose_cfg
from helpers.tiny_fit import TinyModule, tiny_data, tiny_trainer

SUBNORMAL = 1e-39  # below float32's smallest normal, 1.18e-38


def _subnormal_survives() -> bool:
    return (torch.tensor([SUBNORMAL]) * 1.0).item() != 0.0


class _Probe(pl.Callback):
    def __init__(self) -> None:
        self.seen: list[bool] = []

    def on_train_batch_start(self, *_: Any) -> None:
        self.seen.append(_subnormal_survives())


@pytest.fixture
def ftz_supported() -> None:
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU has no flush-to-zero mode")
    torch.set_flush_denormal(False)


@pytest.mark.usefixtures("ftz_supported")
def test_subnormals_are_zero_during_fit_and_restored_after(tmp_path) -> None:
    probe = _Probe()
    assert _subnormal_survives()
    tiny_trainer(tmp_path, FlushDenormals(), probe).fit(TinyModule(), tiny_data())
    assert probe.seen == [False, False]
    assert _subnormal_survives()


@pytest.mark.usefixtures("ftz_supported")
def test_a_failed_fit_switches_flushing_off(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="step failed"):
        tiny_trainer(tmp_path, FlushDenormals()).fit(TinyModule(fail=True), tiny_data())
    assert _subnormal_survives()


def test_default_callbacks_flush_denormals(tmp_path) -> None:
    cfg = compose_cfg("train.yaml", ["experiment=mnist_bstdg"], tmp_path)
    assert cfg.callbacks.flush_denormals._target_ == "bstdg.lit.callbacks.FlushDenormals"
