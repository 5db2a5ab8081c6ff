"""Suite-wide settings: offline, single-threaded, no W&B network."""

from __future__ import annotations

import os

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HYDRA_FULL_ERROR", "1")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from helpers.data_fakes import N_FACES, N_MOTOR, write_mnist_like, write_shd_h5  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_hydra_state_between_tests() -> Iterator[None]:
    """Compose-based tests set Hydra's global config; clear it so no test sees another's."""
    yield
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    HydraConfig.instance().cfg = None
    GlobalHydra.instance().clear()


@pytest.fixture(autouse=True)
def _no_flush_to_zero_between_tests() -> Iterator[None]:
    """A run that trains switches subnormal flushing on for its thread (FlushDenormals)."""
    yield
    torch.set_flush_denormal(False)


# Fake datasets in the true on-disk formats (IDX .gz, JPEG folders, SHD h5).


@pytest.fixture
def no_env_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run without BSTDG_DATA_DIR so defaults do not point at real data."""
    monkeypatch.delenv("BSTDG_DATA_DIR", raising=False)


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    """Data root with fake MNIST and FashionMNIST raw .gz files (120 train, 30 test)."""
    write_mnist_like(tmp_path / "MNIST" / "raw", seed=1)
    write_mnist_like(tmp_path / "FashionMNIST" / "raw", seed=2)
    return tmp_path


@pytest.fixture
def caltech_root(tmp_path: Path) -> Path:
    """Data root with small JPEG folders Faces (12, RGB) and Motorbikes (15, some greyscale)."""
    rng = np.random.default_rng(0)
    cats = tmp_path / "caltech101" / "101_ObjectCategories"
    for name, n, size in (("Faces", N_FACES, (50, 33)), ("Motorbikes", N_MOTOR, (26, 17))):
        folder = cats / name
        folder.mkdir(parents=True)
        for i in range(1, n + 1):
            if name == "Motorbikes" and i % 5 == 0:
                img = Image.fromarray(rng.integers(0, 256, size[::-1], dtype=np.uint8), "L")
            else:
                pixels = rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8)
                img = Image.fromarray(pixels, "RGB")
            img.save(folder / f"image_{i:04d}.jpg", quality=90)
    (cats / "BACKGROUND_Google").mkdir()
    splits = tmp_path / "caltech101" / "splits" / "sdnn_python"
    splits.mkdir(parents=True)
    train = [f"{c}/image_{i:04d}.jpg" for c in ("Faces", "Motorbikes") for i in range(1, 6)]
    test = [f"{c}/image_{i:04d}.jpg" for c in ("Faces", "Motorbikes") for i in range(6, 10)]
    (splits / "train.txt").write_text("\n".join(train) + "\n")
    (splits / "test.txt").write_text("\n".join(test) + "\n")
    return tmp_path


@pytest.fixture
def shd_root(tmp_path: Path) -> Path:
    """Data root with SHD/shd_train.h5 (50 samples) and SHD/shd_test.h5 (20 samples)."""
    write_shd_h5(tmp_path / "SHD" / "shd_train.h5", 50, seed=0)
    write_shd_h5(tmp_path / "SHD" / "shd_test.h5", 20, seed=1)
    return tmp_path
