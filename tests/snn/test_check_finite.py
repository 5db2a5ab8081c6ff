"""check_finite: one sum in the common case, and exact where that sum cannot decide."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn.spikes import check_finite


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_a_non_finite_entry_is_refused_with_its_index(bad: float, dtype: torch.dtype) -> None:
    w = torch.zeros(3, 5, dtype=dtype)
    w[1, 2] = bad
    message = r"weight must be finite: it has 1 NaN/infinite .* \(1, 2\)"
    with pytest.raises(ValueError, match=message):
        check_finite(w, "weight")


def test_finite_entries_whose_sum_overflows_pass() -> None:
    big = torch.finfo(torch.float32).max
    check_finite(torch.full((4,), big), "weight")  # the sum is inf, every entry finite
    check_finite(torch.tensor([big, -big, big]), "threshold")
    with pytest.raises(ValueError, match="threshold must be finite"):
        check_finite(torch.tensor([big, big, float("nan")]), "threshold")


def test_integer_and_empty_tensors_are_not_checked() -> None:
    check_finite(torch.ones(3, dtype=torch.int64), "weight")
    check_finite(torch.empty(0), "weight")
