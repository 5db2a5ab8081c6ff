"""data=tonic (bstdg.data.tonic_events) on small fake files in tonic's own layouts: SHD through
tonic gives the h5 reader's spike times, N-MNIST's binary files decode to the right channels,
and both experiments train."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from bstdg.data import SHDDataModule
from bstdg.encoding import SHDFirstSpikeEncoder
from bstdg.utils.instantiate import UnsafeTargetError, check_targets
from helpers.data_fakes import write_nmnist, write_shd_h5, write_tonic_archive

tonic = pytest.importorskip("tonic")
from bstdg.data.tonic_events import TonicDataModule, event_rows  # noqa: E402


def _shd_files(root: Path) -> None:
    """tonic's SHD layout: the h5 files with their downloaded archives beside them."""
    for split, n, seed in (("train", 50, 1), ("test", 20, 2)):
        write_shd_h5(root / "SHD" / f"shd_{split}.h5", n, seed, edges=True)
        write_tonic_archive(root / "SHD" / f"shd_{split}.h5.zip")


def _encoded(dm, encoder) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    dm.setup("fit")
    loaders = {"train": dm.train_dataloader(), "val": dm.val_dataloader(),
               "test": dm.test_dataloader()}
    out = {}
    for name, loader in loaders.items():
        xs, ys = zip(*[(encoder(x), y) for x, y in loader], strict=True)
        out[name] = torch.cat(xs), torch.cat(ys)
    return out


@pytest.mark.parametrize("first_event_only", [True, False])
def test_shd_through_tonic_gives_the_h5_readers_spike_times(tmp_path: Path,
                                                            first_event_only: bool) -> None:
    _shd_files(tmp_path)
    common = {"batch_size": 16, "val_size": 0.2, "seed": 3, "sampling": "sequential"}
    h5 = _encoded(SHDDataModule(data_dir=str(tmp_path), **common),
                  SHDFirstSpikeEncoder(T=100, t_window=1.0))
    via_tonic = _encoded(
        TonicDataModule(partial(tonic.datasets.SHD, save_to=str(tmp_path)), n_classes=20,
                        train_args={"train": True}, test_args={"train": False},
                        first_event_only=first_event_only, **common),
        SHDFirstSpikeEncoder(T=100, t_window=1e6))
    for split in ("train", "val", "test"):
        assert torch.equal(h5[split][1], via_tonic[split][1]), split
        assert torch.equal(h5[split][0], via_tonic[split][0]), split
    # the last test sample's events lie on the bin edges k / 100 s (float32: some just below)
    edges = (np.arange(1, 100) / 100).astype(np.float32).astype(np.float64) * 100
    assert h5["test"][0][-1][:99].tolist() == np.floor(edges).astype(int).tolist()
    assert (np.floor(edges) != np.arange(1, 100)).any()


def test_nmnist_files_decode_to_pixel_and_polarity_channels(tmp_path: Path) -> None:
    written = write_nmnist(tmp_path)
    dm = TonicDataModule(partial(tonic.datasets.NMNIST, save_to=str(tmp_path)), n_classes=10,
                         train_args={"train": True}, test_args={"train": False}, val_size=0)
    assert dm.n_inputs == 34 * 34 * 2
    dm.setup("fit")
    assert len(dm.train_set) == len(dm.test_set) == 10_000
    for split, data in (("train", dm.train_set), ("test", dm.test_set)):
        for i in (0, 4321, 9999):
            digit, (x, y, t, p) = written[split][i]
            rows, label = data[i]
            assert label == digit
            channel = (x * 34 + y) * 2 + p
            first = {}
            for c, ti in sorted(zip(channel.tolist(), t.tolist(), strict=True),
                                key=lambda e: e[1]):
                first.setdefault(c, ti)
            want = sorted((ti, c) for c, ti in first.items())
            assert sorted(map(tuple, rows.tolist())) == [(float(a), float(b)) for a, b in want]


def test_event_rows_keep_each_channels_first_event() -> None:
    dtype = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
    events = np.array([(1, 0, 50, 1), (1, 0, 20, 1), (0, 1, 30, 0), (1, 0, 20, 0)], dtype=dtype)
    rows = event_rows(events, (2, 2, 2))
    # channels: (x * 2 + y) * 2 + p -> 5, 5, 2, 4; first events by time
    assert rows.tolist() == [[20.0, 5.0], [20.0, 4.0], [30.0, 2.0]]
    assert len(event_rows(events, (2, 2, 2), first_event_only=False)) == 4
    with pytest.raises(ValueError, match="x in \\[0, 1\\], outside the sensor's 0..0"):
        event_rows(events, (1, 2, 2))


def test_saved_tonic_config_targets_are_checked() -> None:
    good = {"_target_": "bstdg.data.tonic_events.TonicDataModule",
            "dataset": {"_target_": "tonic.datasets.NMNIST", "_partial_": True}}
    check_targets(good, "run config", "data")
    bad = {**good, "dataset": {"_target_": "tonic.io.read_mnist_file"}}
    with pytest.raises(UnsafeTargetError, match="data.dataset._target_"):
        check_targets(bad, "run config", "data")


def test_data_tonic_without_tonic_says_how_to_install(monkeypatch) -> None:
    import importlib.util

    from omegaconf import OmegaConf

    from bstdg.data.config import check_optional_packages

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tonic" else real(name, *a))
    cfg = OmegaConf.create({"_target_": "bstdg.data.tonic_events.TonicDataModule"})
    with pytest.raises(ValueError, match=r"pip install -e \.\[tonic\]"):
        check_optional_packages(cfg)
