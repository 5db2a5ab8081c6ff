"""random_shift: a translation with zero fill, seeded, and wired into training batches only."""

import pytest
import torch

from bstdg.data import InvalidDataConfigError
from bstdg.data.augment import check_shift, random_shift


def test_shift_moves_pixels_and_fills_zero() -> None:
    img = torch.zeros(1, 1, 5, 5, dtype=torch.uint8)
    img[0, 0, 2, 2] = 200
    x = img.reshape(1, 25).repeat(64, 1)
    out = random_shift(x, (1, 5, 5), 1, torch.Generator().manual_seed(0)).reshape(64, 5, 5)
    assert out.dtype == torch.uint8
    assert (out.reshape(64, -1).sum(1) == 200).all()  # a shift of 1 keeps the centre pixel
    positions = {tuple(torch.nonzero(o)[0].tolist()) for o in out}
    assert positions == {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)}


def _translate(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[..., i, j] = img[..., i - dy, j - dx]
    return out


def test_each_sample_is_one_translation_of_both_channels() -> None:
    x = torch.arange(1, 2 * 3 * 4 + 1, dtype=torch.float32).reshape(1, 24).repeat(300, 1)
    out = random_shift(x, (2, 3, 4), 2, torch.Generator().manual_seed(1)).reshape(300, 2, 3, 4)
    src = x[0].reshape(2, 3, 4)
    offsets = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
    seen = set()
    for o in out:
        match = [d for d in offsets if torch.equal(o, _translate(src, *d))]
        assert len(match) == 1
        seen.add(match[0])
    assert seen == set(offsets)
    assert torch.equal(random_shift(x, (2, 3, 4), 0), x)


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_shift_is_refused(bad: object) -> None:
    with pytest.raises(InvalidDataConfigError, match="augment_shift"):
        check_shift(bad, (1, 28, 28), "mnist")  # type: ignore[arg-type]


def test_shift_needs_an_image_shape() -> None:
    with pytest.raises(InvalidDataConfigError, match="data.augment_shift=0"):
        check_shift(2, None, "shd")
    with pytest.raises(InvalidDataConfigError, match="as large as"):
        check_shift(28, (1, 28, 28), "mnist")


class _Trainer:
    def __init__(self, training: bool) -> None:
        self.training = training
        self.global_rank = 0


@pytest.mark.parametrize("training", [True, False])
def test_datamodule_shifts_training_batches_only(mnist_root, training: bool) -> None:
    from bstdg.data import MNISTDataModule

    dm = MNISTDataModule(str(mnist_root), batch_size=16, val_size=20, augment_shift=3)
    dm.setup("fit")
    x, y = next(iter(dm.train_dataloader()))
    dm.trainer = _Trainer(training)  # type: ignore[assignment]
    x2, y2 = dm.on_after_batch_transfer((x, y), 0)
    assert torch.equal(y2, y) and x2.dtype == x.dtype and x2.shape == x.shape
    assert torch.equal(x2, x) is not training


def test_shift_on_an_unshaped_dataset_is_refused(shd_root) -> None:
    from bstdg.data import SHDDataModule

    dm = SHDDataModule(str(shd_root), val_size=2)
    dm.augment_shift = 2
    with pytest.raises(InvalidDataConfigError, match="data.augment_shift=0"):
        dm.setup("fit")


def test_datamodule_pickles_after_augmenting(mnist_root) -> None:
    """DDP spawn pickles the DataModule: the shift generator is left out and made anew."""
    import pickle

    from bstdg.data import MNISTDataModule

    dm = MNISTDataModule(str(mnist_root), batch_size=4, val_size=20, augment_shift=1)
    dm.setup("fit")
    dm.trainer = _Trainer(True)  # type: ignore[assignment]
    dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    clone = pickle.loads(pickle.dumps(dm))
    assert clone._augment_rng is None and clone.augment_shift == 1
