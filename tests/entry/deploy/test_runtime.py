"""bstdg.runtime against the platform on random nets, its refusals of bad files, its imports,
and the NIR graph bstdg-export writes (no training: random binarized nets)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import nir
import numpy as np
import pytest
import torch

import bstdg.runtime as rt
from bstdg.encoding import LatencyEncoder, SHDFirstSpikeEncoder, shd_first_spike
from bstdg.export import ExportError, write_export, write_nir
from bstdg.snn.readout import decide
from helpers.deploy_helpers import N_IN, SOURCE, random_times, rewrite, small_model


def _assert_same(model: Any, exported: rt.ExportedModel, t_in: torch.Tensor) -> None:
    """Every layer's spike times, the output potentials and the decisions agree."""
    with torch.no_grad():
        out = model.net(t_in)
    mine = exported.forward(t_in.numpy())
    for k, (ref, got) in enumerate(zip(out.times, mine.times, strict=True)):
        np.testing.assert_array_equal(got, ref.long().numpy(), err_msg=f"layer {k} times")
    np.testing.assert_array_equal(mine.v_fire, out.v_fire.long().numpy())
    np.testing.assert_array_equal(mine.v_end, out.v_end.long().numpy())
    pred = decide(out.out_times, out.v_fire, out.v_end, model.T, model.fallback).numpy()
    np.testing.assert_array_equal(exported.decide(mine), pred)


@pytest.mark.parametrize(
    "options",
    [{},
     {"delay": 0},
     {"delay": 3, "hidden": (9, 7)},
     {"hidden": ()},
     {"window_trim": 2, "delay": 0, "fallback_offset": 3},  # SSTDP-like window
     {"fallback_offset": 3, "fallback": "lowest_index"},    # BS4NN's V(T - 3)
     {"fallback": "none", "threshold_mode": "per_layer"},
     {"threshold_mode": "bs4nn_fact", "fallback_offset": 3},
     {"T": 2, "delay": 0},
     {"T": 64, "hidden": (40,), "seed": 3}],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default",
)
def test_runtime_equals_platform_on_random_nets(tmp_path: Path, options: dict) -> None:
    model = small_model(**options)
    exported = write_export(model, tmp_path / "m.npz", SOURCE)
    for seed in range(3):
        _assert_same(model, exported, random_times(64, N_IN, model.T, seed=seed))


@pytest.mark.parametrize(
    "encoder",
    [LatencyEncoder(16), LatencyEncoder(16, zero_intensity_spikes=True),
     LatencyEncoder(16, intensity_threshold=0.5), LatencyEncoder(16, code="log"),
     LatencyEncoder(16, code="log", zero_intensity_spikes=True, x_min=0.1)],
    ids=repr,
)
def test_encode_and_predict_equal_the_platform(tmp_path: Path, encoder: LatencyEncoder) -> None:
    model = small_model(encoder=encoder)
    exported = write_export(model, tmp_path / "m.npz", SOURCE)
    x = torch.randint(0, 256, (200, N_IN), dtype=torch.uint8, generator=torch.Generator()
                      .manual_seed(0))
    x[:, :3] = torch.tensor([0, 255, 128], dtype=torch.uint8)
    t_in = encoder(x)
    np.testing.assert_array_equal(exported.encode(x.numpy()), t_in.numpy())
    _assert_same(model, exported, t_in)
    with torch.no_grad():
        out = model.net(t_in)
    pred = decide(out.out_times, out.v_fire, out.v_end, model.T, model.fallback).numpy()
    np.testing.assert_array_equal(exported.predict(x.numpy()), pred)
    with pytest.raises(TypeError, match="uint8"):
        exported.encode(x.numpy().astype(np.float32) / 255)


def test_shd_encoder_equals_the_platform(tmp_path: Path) -> None:
    encoder = SHDFirstSpikeEncoder(T=20, t_window=0.7, n_channels=N_IN)
    exported = write_export(small_model(T=20, encoder=encoder), tmp_path / "m.npz", SOURCE)
    gen = torch.Generator().manual_seed(0)
    events = torch.stack([torch.rand(8, 60, generator=gen) * 0.9,
                          torch.randint(0, N_IN, (8, 60), generator=gen).float()], dim=-1)
    events[:, -5:, 0] = float("inf")  # padding
    ref = shd_first_spike(events, 20, n_channels=N_IN, t_window=0.7)
    np.testing.assert_array_equal(exported.encode(events.numpy()), ref.numpy())


def test_forward_refuses_bad_times(exported_small) -> None:
    _, path = exported_small
    model = rt.load(path)
    with pytest.raises(ValueError, match=r"\[0, T=16\]"):
        model.forward(np.full((2, N_IN), 17))
    with pytest.raises(ValueError, match="NaN"):
        model.forward(np.full((2, N_IN), np.nan))
    with pytest.raises(ValueError, match=f"batch, {N_IN}"):
        model.forward(np.zeros((2, N_IN + 1), dtype=np.int64))


def test_real_valued_nets_are_refused(tmp_path: Path) -> None:
    model = small_model()
    for layer in model.net.layers:
        layer.spec = dataclasses.replace(layer.spec, binary=False)
    with pytest.raises(ExportError, match="binary=true"):
        write_export(model, tmp_path / "m.npz", SOURCE)


def test_file_format_is_self_describing_without_pickle(exported_small) -> None:
    model, path = exported_small
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["metadata"].item()))
        bits = archive["layer0.weight_bits"]
    assert meta["format"] == rt.FORMAT and meta["format_version"] == rt.FORMAT_VERSION
    assert meta["sizes"] == [N_IN, 12, 5] and meta["T"] == 16 and meta["delay"] == 1
    assert meta["decision"]["fallback"] == "max_potential"
    assert meta["encoder"]["kind"] == "latency" and meta["encoder"]["code"] == "linear"
    assert meta["versions"] == {pkg: version(pkg) for pkg in
                                ("bstdg", "torch", "pytorch-lightning", "numpy", "nir")}
    w = model.net.layers[0].weight.detach()
    assert bits.shape == (12, 3)  # 20 inputs -> 3 bytes per row
    np.testing.assert_array_equal(np.unpackbits(bits, axis=1)[:, :N_IN], (w >= 0).numpy())


# Refusals: every case names the file and what is wrong -----------------------------------

def _set_meta(key: str, value: Any) -> Callable[[dict], None]:
    def edit(members: dict) -> None:
        meta = json.loads(str(members["metadata"].item()))
        meta[key] = value
        members["metadata"] = np.array(json.dumps(meta))
    return edit


def _reshape_layer0(members: dict) -> None:
    """A weight array of the wrong shape, with a metadata record that matches it."""
    bits = members["layer0.weight_bits"][:, :2]
    members["layer0.weight_bits"] = bits
    meta = json.loads(str(members["metadata"].item()))
    meta["arrays"]["layer0.weight_bits"] = rt.array_entry(bits)
    members["metadata"] = np.array(json.dumps(meta))


def _flip_bit(members: dict) -> None:
    members["layer1.weight_bits"] = members["layer1.weight_bits"] ^ np.uint8(1 << 7)


def _nan_threshold(members: dict) -> None:
    theta = members["layer0.threshold"].copy()
    theta[0] = np.nan
    members["layer0.threshold"] = theta
    meta = json.loads(str(members["metadata"].item()))
    meta["arrays"]["layer0.threshold"] = rt.array_entry(theta)
    members["metadata"] = np.array(json.dumps(meta))


def _object_array(members: dict) -> None:
    members["layer0.threshold"] = np.array([{"a": 1}], dtype=object)


EDITS = [
    ("version", _set_meta("format_version", 99), "format version 99"),
    ("format", _set_meta("format", "other"), "not a bstdg-snn file"),
    ("sizes", _set_meta("sizes", [N_IN, 13, 5]), r"layer0.weight_bits' has shape \(12, 3\)"),
    ("shape", _reshape_layer0, r"has shape \(12, 2\), expected \(12, 3\)"),
    ("checksum", _flip_bit, "does not match the checksum"),
    ("nan threshold", _nan_threshold, "NaN or infinite"),
    ("missing array", lambda m: m.pop("layer1.threshold"), "lacks the array 'layer1.threshold'"),
    ("missing metadata", lambda m: m.pop("metadata"), "no 'metadata' entry"),
    ("delay", _set_meta("delay", 16), "out of range"),
    ("fallback", _set_meta("decision", {"fallback": "vote", "fallback_offset": 1}),
     "decision rule"),
    ("pickle", _object_array, "cannot be read"),
]


@pytest.mark.parametrize("edit,message", [e[1:] for e in EDITS], ids=[e[0] for e in EDITS])
def test_altered_files_are_refused(exported_small, tmp_path: Path, edit: Callable,
                                   message: str) -> None:
    _, path = exported_small
    bad = rewrite(path, tmp_path / "bad.npz", edit)
    with pytest.raises(rt.ExportFormatError, match=message) as exc:
        rt.load(bad)
    assert str(bad) in str(exc.value) and "bstdg-export" in str(exc.value)


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.9, 0.999])
def test_truncated_files_are_refused(exported_small, tmp_path: Path, keep: float) -> None:
    _, path = exported_small
    data = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(rt.ExportFormatError, match="truncated") as exc:
        rt.load(bad)
    assert str(bad) in str(exc.value)


@pytest.mark.parametrize("content", [b"not a model\n", None], ids=["text", "npy"])
def test_other_files_are_refused(tmp_path: Path, content: bytes | None) -> None:
    bad = tmp_path / "other.npz"
    if content is None:
        with bad.open("wb") as fh:
            np.save(fh, np.zeros(3))
    else:
        bad.write_bytes(content)
    with pytest.raises(rt.ExportFormatError, match="not a bstdg export") as exc:
        rt.load(bad)
    assert str(bad) in str(exc.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="bstdg-export ckpt_path="):
        rt.load(tmp_path / "nowhere.npz")


def test_runtime_imports_neither_torch_nor_lightning() -> None:
    code = ("import sys, bstdg.runtime; "
            "print(sorted(m for m in ('torch', 'pytorch_lightning', 'lightning', 'hydra', "
            "'numba') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]", result.stdout


# NIR ----------------------------------------------------------------------------------------

def test_nir_round_trip(exported_small, tmp_path: Path) -> None:
    model, path = exported_small
    exported = rt.load(path)
    write_nir(tmp_path / "model.nir", exported)
    graph = nir.read(tmp_path / "model.nir")
    assert graph.edges == [("input", "fc0"), ("fc0", "if0"), ("if0", "inh0"), ("inh0", "if0"),
                           ("if0", "delay0"), ("delay0", "fc1"), ("fc1", "if1"),
                           ("if1", "inh1"), ("inh1", "if1"), ("if1", "delay1"),
                           ("delay1", "output")]
    for k, layer in enumerate(model.net.layers):
        fc, neuron = graph.nodes[f"fc{k}"], graph.nodes[f"if{k}"]
        assert isinstance(fc, nir.Linear) and isinstance(neuron, nir.IF)
        w = layer.weight.detach()
        np.testing.assert_array_equal(fc.weight, torch.where(w >= 0, 1.0, -1.0).numpy())
        np.testing.assert_array_equal(neuron.v_threshold, layer.threshold.detach().numpy())
        np.testing.assert_array_equal(neuron.r, np.ones(layer.out_features))
    assert "fires at most once" in graph.metadata["semantics"]
    assert "delay" in graph.metadata["semantics"] and int(graph.metadata["delay"]) == 1
    assert int(graph.metadata["T"]) == 16
