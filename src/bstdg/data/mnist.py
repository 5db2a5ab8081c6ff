"""MNIST and Fashion-MNIST from the original IDX .gz files, kept in memory as uint8."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from torch.utils.data import Dataset

from bstdg.data.base import ArrayDataset, SplitDataModule, ValSize
from bstdg.data.errors import InvalidDataConfigError, corrupt, not_found
from bstdg.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

Variant = Literal["MNIST", "FashionMNIST"]

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

SHA256 = {
    "MNIST": {
        "train-images-idx3-ubyte.gz": (
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
        ),
        "train-labels-idx1-ubyte.gz": (
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
        ),
    },
    "FashionMNIST": {
        "train-images-idx3-ubyte.gz": (
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
        ),
        "train-labels-idx1-ubyte.gz": (
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
        ),
    },
}

URLS = {
    "MNIST": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "FashionMNIST": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

_DOWNLOAD_NAME = {"MNIST": "mnist", "FashionMNIST": "fmnist"}


def how_to_get(variant: str) -> str:
    """One sentence on where the IDX files come from."""
    return (
        f"Get the four .gz files ({', '.join(FILES.values())}) from {URLS[variant]} into "
        f"<data_dir>/{variant}/raw/, e.g. with "
        f"`python -m bstdg.data.download {_DOWNLOAD_NAME[variant]} --to DIR`."
    )


def load_split(raw_dir: Path, variant: str, train: bool, verify: bool) -> tuple[np.ndarray, ...]:
    """Read one split's images (N, 784) and labels (N,) from `raw_dir`, validating both."""
    prefix = "train" if train else "test"
    paths = {kind: raw_dir / FILES[f"{prefix}_{kind}"] for kind in ("images", "labels")}
    for path in paths.values():
        if not path.is_file():
            raise not_found(path, variant, how_to_get(variant))
    sums = SHA256[variant] if verify else {}
    images = read_idx(paths["images"], IMAGES_MAGIC, sums.get(paths["images"].name))
    labels = read_idx(paths["labels"], LABELS_MAGIC, sums.get(paths["labels"].name))
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise corrupt(paths["images"], f"image dims {images.shape[1:]}, expected (28, 28)")
    if labels.ndim != 1 or len(labels) != len(images):
        raise corrupt(
            paths["labels"],
            f"{labels.shape} labels do not match the {len(images)} images in {paths['images']}",
        )
    if labels.size and labels.max() > 9:
        raise corrupt(paths["labels"], f"label {int(labels.max())} outside 0..9")
    return images.reshape(len(images), -1), labels.astype(np.int64)


class MNISTDataModule(SplitDataModule):
    """MNIST or Fashion-MNIST (`variant`): batches of uint8 (B, 784) pixels and int64 labels."""

    n_inputs = 784
    n_classes = 10
    image_shape = (1, 28, 28)

    def __init__(
        self,
        data_dir: str | None = None,
        variant: Variant = "MNIST",
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        val_size: ValSize = 5000,
        seed: int = 0,
        verify_checksums: bool = False,
        sampling: str = "permutation",
        drop_last: bool = False,
        augment_shift: int = 0,
    ) -> None:
        super().__init__(data_dir, batch_size, num_workers, pin_memory, val_size, seed,
                         sampling, drop_last, augment_shift)
        if variant not in SHA256:
            raise InvalidDataConfigError(
                f"variant={variant!r} is invalid: use one of {sorted(SHA256)}."
            )
        self.variant = variant
        self.verify_checksums = verify_checksums
        self.name = "mnist" if variant == "MNIST" else "fmnist"

    @property
    def raw_dir(self) -> Path:
        """Folder holding the four IDX .gz files."""
        return self.root / self.variant / "raw"

    def _load(self) -> tuple[Dataset, Dataset]:
        train = load_split(self.raw_dir, self.variant, True, self.verify_checksums)
        test = load_split(self.raw_dir, self.variant, False, self.verify_checksums)
        return ArrayDataset(*train), ArrayDataset(*test)
