"""Known console noise of Lightning and torch, silenced in one place while a run lasts.

Only messages that say nothing about the run are dropped: Lightning's advertising tip, the
"no GPU/TPU" lines of a CPU run, its notes about callbacks it did not add and dataloaders it
loaded, the num_workers hint (the DataModules hold uint8 tensors in memory; workers would
only add start-up time), a torch deprecation that Lightning triggers, and the reminder that a
restored checkpoint's callbacks are not re-created (bstdg-eval tests with its own). Everything else,
including every other warning, still shows. ``extras.ignore_warnings=true`` additionally
hides all Python warnings.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

# Lightning's info lines (logged through its rank-zero loggers) that carry no information.
NOISE_LOG_PATTERNS = (
    r"💡 Tip:",  # "try installing litlogger ..."
    r"(GPU|TPU|HPU|IPU) available: False",
    r"Trainer already configured with model summary callbacks",
    r"Loading `\w+_dataloader` to estimate number of stepping batches",
)

# (message regex, category) of warnings that carry no information for a bstdg run.
NOISE_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    (r"The '\w+' does not have many workers", Warning),
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", Warning),
    # bstdg-eval restores a checkpoint with its own callbacks, not the training run's
    (r"Be aware that when using `ckpt_path`, callbacks used to create the checkpoint", Warning),
)

# Loggers through which Lightning's rank_zero_info reaches the console.
LIGHTNING_LOGGERS = (
    "pytorch_lightning.utilities.rank_zero",
    "lightning_fabric.utilities.rank_zero",
    "lightning_utilities.core.rank_zero",
)


class DropMessages(logging.Filter):
    """A logging filter dropping records whose message starts with one of ``patterns``."""

    def __init__(self, patterns: tuple[str, ...] = NOISE_LOG_PATTERNS) -> None:
        super().__init__()
        self.pattern = re.compile("|".join(f"(?:{p})" for p in patterns))

    def filter(self, record: logging.LogRecord) -> bool:
        return self.pattern.match(record.getMessage()) is None


def _lightning_loggers() -> list[logging.Logger]:
    """The loggers named above, plus the one Lightning's rank_zero_info currently uses."""
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    try:
        from lightning_utilities.core import rank_zero
    except ImportError:
        return loggers
    current = getattr(rank_zero, "log", None)
    if isinstance(current, logging.Logger) and current not in loggers:
        loggers.append(current)
    return loggers


@contextmanager
def _log_filter(loggers: list[logging.Logger], flt: logging.Filter) -> Iterator[None]:
    for logger in loggers:
        logger.addFilter(flt)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(flt)


@contextmanager
def quiet_known_noise(ignore_warnings: bool = False) -> Iterator[None]:
    """Within the block, drop Lightning's known noise; with ``ignore_warnings`` also hide
    every Python warning. Filters are restored when the block ends."""
    with ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        if ignore_warnings:
            warnings.simplefilter("ignore")
        else:
            for message, category in NOISE_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category)
        stack.enter_context(_log_filter(_lightning_loggers(), DropMessages()))
        yield
