"""Output decision rules: earliest spike wins (docs/method.md, "Decision")."""

from __future__ import annotations

import torch

FALLBACKS = ("max_potential", "lowest_index", "none")


def decide(
    times: torch.Tensor,
    v_fire: torch.Tensor,
    v_end: torch.Tensor,
    T: int,
    fallback: str = "max_potential",
) -> torch.Tensor:
    """Predicted class per sample (B,), int64.

    The earliest output spike wins; ties go to the larger potential at the firing step,
    then to the lower index. If no output fires: ``max_potential`` takes argmax of the
    window-end potential (S4NN/BS4NN), ``lowest_index`` class 0, ``none`` -1 (always wrong).
    """
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; valid: {', '.join(FALLBACKS)}")
    t_min = times.min(dim=1, keepdim=True).values
    earliest = times == t_min
    score = torch.where(earliest, v_fire.float(), torch.tensor(float("-inf"), device=times.device))
    pred = score.argmax(dim=1)
    if fallback == "max_potential":
        silent_pred = v_end.float().argmax(dim=1)
    else:
        silent_pred = torch.full_like(pred, 0 if fallback == "lowest_index" else -1)
    fired = t_min.squeeze(1) < T
    return torch.where(fired, pred, silent_pred)


def correct_with_ties(
    times: torch.Tensor, labels: torch.Tensor, pred: torch.Tensor, T: int
) -> torch.Tensor:
    """Paper-comparable correctness (S4NN/BS4NN/SSTDP): the label is among the earliest.

    When no output fires, the configured fallback decision ``pred`` is used.
    """
    t_min = times.min(dim=1).values
    label_time = times.gather(1, labels[:, None]).squeeze(1)
    fired = t_min < T
    return torch.where(fired, label_time == t_min, pred == labels)


def decision_time(times: torch.Tensor) -> torch.Tensor:
    """First output spike step per sample (T if none fires)."""
    return times.min(dim=1).values
