"""Data dir resolution and the Hydra configs in conf/data."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from bstdg.data import resolve_data_dir

CONF = Path(__file__).resolve().parents[2] / "conf" / "data"
EXPECTED = {
    "mnist": ("MNISTDataModule", 784, 10),
    "fmnist": ("MNISTDataModule", 784, 10),
    "caltech_face_motorbike": ("CaltechFaceMotorbikeDataModule", 40000, 2),
    "shd": ("SHDDataModule", 700, 20),
    "synthetic": ("SyntheticDataModule", 64, 4),
}


def test_resolve_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BSTDG_DATA_DIR", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path.resolve()
    assert resolve_data_dir("$BSTDG_DATA_DIR/x") == (tmp_path / "x").resolve()


def test_resolve_default(monkeypatch):
    monkeypatch.delenv("BSTDG_DATA_DIR", raising=False)
    assert resolve_data_dir("") == (CONF.parents[1] / "data").resolve()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_instantiates(name, tmp_path):
    cfg = OmegaConf.create(
        {
            "seed": 7,
            "paths": {"data_dir": str(tmp_path)},
            "data": OmegaConf.load(CONF / f"{name}.yaml"),
        }
    )
    dm = instantiate(cfg.data)
    cls, n_inputs, n_classes = EXPECTED[name]
    assert type(dm).__name__ == cls
    assert (dm.n_inputs, dm.n_classes) == (n_inputs, n_classes)
    if name != "synthetic":  # sizes come from the data: one source of truth
        assert "n_inputs" not in cfg.data and "n_classes" not in cfg.data
    else:  # synthetic data is generated at the configured sizes
        assert (cfg.data.n_inputs, cfg.data.n_classes) == (n_inputs, n_classes)
    assert dm.seed == 7 and dm.batch_size == 64 and dm.num_workers == 0
    assert not any(tmp_path.iterdir())
