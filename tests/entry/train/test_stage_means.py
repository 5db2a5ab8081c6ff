"""StageMeans: per-sample means of several statistics from one update per batch."""

from __future__ import annotations

import pytest
import torch

from bstdg.lit.metrics import StageMeans


def test_means_weight_batches_by_size_and_scalars_as_batch_means() -> None:
    m = StageMeans(["acc", "loss"])
    m.update({"acc": torch.tensor([1.0, 0.0, 1.0]), "loss": torch.tensor(0.5)}, 3)
    m.update({"acc": torch.tensor([0.0]), "loss": torch.tensor(2.0)}, 1)
    out = m.compute()
    assert out["acc"].item() == pytest.approx(2 / 4)
    assert out["loss"].item() == pytest.approx((0.5 * 3 + 2.0) / 4)
    m.reset()
    m.update({"acc": torch.ones(2), "loss": torch.tensor(1.0)}, 2)
    assert m.compute()["acc"].item() == 1.0
