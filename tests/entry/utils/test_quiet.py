"""Known Lightning/torch noise is dropped while a run lasts; everything else still shows."""

from __future__ import annotations

import logging
import warnings

import pytest
from lightning_fabric.utilities.warnings import PossibleUserWarning
from pytorch_lightning.utilities.rank_zero import rank_zero_info, rank_zero_warn

from bstdg.utils.quiet import DropMessages, quiet_known_noise


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def lightning_info() -> _Collect:
    """What Lightning's rank-zero info logger emits (it does not always propagate to root)."""
    from lightning_utilities.core import rank_zero

    handler = _Collect()
    logger = rank_zero.log
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


NOISE = [
    "💡 Tip: For seamless cloud logging and experiment tracking, try installing [litlogger]",
    "GPU available: False, used: False",
    "TPU available: False, using: 0 TPU cores",
    "Trainer already configured with model summary callbacks: [RichModelSummary].",
    "Loading `train_dataloader` to estimate number of stepping batches.",
]
KEPT = ["GPU available: True (cuda), used: True", "Seed set to 1",
        "`Trainer.fit` stopped: `max_epochs=1` reached."]


def test_lightning_noise_dropped_other_lines_kept(lightning_info: _Collect) -> None:
    with quiet_known_noise():
        for message in NOISE + KEPT:
            rank_zero_info(message)
    assert lightning_info.messages == KEPT


def test_filter_removed_after_the_run(lightning_info: _Collect) -> None:
    with quiet_known_noise():
        pass
    rank_zero_info(NOISE[0])
    assert lightning_info.messages == [NOISE[0]]


def test_known_warnings_dropped_others_shown() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_known_noise():
            rank_zero_warn("The 'train_dataloader' does not have many workers which may be a "
                           "bottleneck.", category=PossibleUserWarning)
            warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...",
                          FutureWarning, stacklevel=1)
            rank_zero_warn("Be aware that when using `ckpt_path`, callbacks used to create the "
                           "checkpoint need to be provided during `Trainer` instantiation.")
            warnings.warn("a real problem", UserWarning, stacklevel=1)
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated", FutureWarning,
                      stacklevel=1)
    assert [str(w.message) for w in caught] == [
        "a real problem", "`isinstance(treespec, LeafSpec)` is deprecated"]


def test_ignore_warnings_hides_every_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_known_noise(ignore_warnings=True):
            warnings.warn("a real problem", UserWarning, stacklevel=1)
    assert caught == []


def test_drop_messages_matches_at_the_start() -> None:
    flt = DropMessages()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "note: GPU available: False",
                               None, None)
    assert flt.filter(record)
