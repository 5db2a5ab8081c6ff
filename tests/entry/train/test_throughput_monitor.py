"""ThroughputMonitor logs an epoch only when it saw the epoch start and a batch."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch

from bstdg.lit.callbacks import ThroughputMonitor


class FakeModule:
    device = torch.device("cpu")

    def __init__(self) -> None:
        self.logged: dict[str, float] = {}

    def log(self, name: str, value: Any) -> None:
        self.logged[name] = float(value)


def test_an_epoch_ended_without_its_start_logs_nothing() -> None:
    # a run resumed from a checkpoint written after validation ends that epoch again
    monitor, module, trainer = ThroughputMonitor(), FakeModule(), SimpleNamespace()
    monitor.on_train_epoch_end(trainer, module)
    assert module.logged == {}


def test_a_full_epoch_logs_time_and_samples_per_second() -> None:
    monitor, module, trainer = ThroughputMonitor(), FakeModule(), SimpleNamespace()
    monitor.on_train_epoch_start(trainer, module)
    for _ in range(3):
        monitor.on_train_batch_end(trainer, module, None, (None, torch.zeros(4)), 0)
    monitor.on_train_epoch_end(trainer, module)
    seconds = module.logged["time/epoch_s"]
    assert seconds > 0 and module.logged["time/train_samples_per_s"] == 12 / seconds
    module.logged.clear()
    monitor.on_train_epoch_end(trainer, module)  # the same epoch cannot end twice
    assert module.logged == {}
