from pathlib import Path

import pytest
import torch

from hydra.utils import instantiate
from omegaconf import OmegaConf

from bstdg.encoding import LatencyEncoder, SHDFirstSpikeEncoder

CONF = Path(__file__).resolve().parents[2] / "conf" / "encoder"


@pytest.mark.parametrize(
    ("name", "cls", "T"),
    [
        ("latency", LatencyEncoder, 64),
        ("latency_log", LatencyEncoder, 64),
        ("shd_first_spike", SHDFirstSpikeEncoder, 100),
    ],
)
def test_config_instantiates(name: str, cls: type, T: int) -> None:
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    enc = instantiate(cfg)
    assert isinstance(enc, cls)
    assert enc.T == T


def test_config_values() -> None:
    lin = instantiate(OmegaConf.load(CONF / "latency.yaml"))
    assert lin.code == "linear" and lin.zero_intensity_spikes is False
    assert lin.intensity_threshold == 0.0
    log = instantiate(OmegaConf.load(CONF / "latency_log.yaml"))
    assert log.code == "log" and log.x_min == 1 / 255
    x = torch.tensor([[0, 1, 255]], dtype=torch.uint8)
    assert log(x).tolist() == [[64, 63, 0]]
    shd = instantiate(OmegaConf.load(CONF / "shd_first_spike.yaml"))
    assert shd.t_window == 1.0 and shd.n_channels == 700
