from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from bstdg.encoding import LatencyEncoder, SHDFirstSpikeEncoder, SpikeEncoder

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


@pytest.mark.parametrize("name", sorted(p.stem for p in CONF.glob("*.yaml")))
def test_every_encoder_config_is_a_spike_encoder(name: str) -> None:
    """Each encoder a config can build satisfies the SpikeEncoder protocol (T and __call__)."""
    enc = instantiate(OmegaConf.load(CONF / f"{name}.yaml"))
    assert isinstance(enc, SpikeEncoder)
    assert isinstance(enc.T, int)


def test_encoder_classes_are_spike_encoders() -> None:
    x = torch.tensor([[0, 128, 255]], dtype=torch.uint8)
    events = torch.tensor([[[0.25, 1.0], [float("inf"), 0.0]]])
    for enc, batch in ((LatencyEncoder(8), x), (LatencyEncoder(8, code="log"), x),
                       (SHDFirstSpikeEncoder(8, n_channels=3), events)):
        assert isinstance(enc, SpikeEncoder)
        t = enc(batch)
        assert t.dtype == torch.long and int(t.min()) >= 0 and int(t.max()) <= enc.T


def test_spike_encoder_protocol_needs_T_and_call() -> None:
    class NoT:
        def __call__(self, x: torch.Tensor) -> torch.Tensor:
            return x

    class NotCallable:
        T = 8

    assert not isinstance(NoT(), SpikeEncoder)
    assert not isinstance(NotCallable(), SpikeEncoder)
    assert not isinstance(lambda x: x, SpikeEncoder)  # a bare function has no T
