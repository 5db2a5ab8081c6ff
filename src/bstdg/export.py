"""bstdg-export: write a trained binarized network as a deployable file and a NIR graph.

bstdg-export ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt [hydra.run.dir=DIR]

Writes into its run directory (``hydra.run.dir``, default ``logs/export/runs/<time>``):

* ``model.npz``: the network without pickle (see :mod:`bstdg.runtime` for the format):
  bit-packed sign weights (1 bit per synapse), float32 thresholds as the forward uses them,
  T, delay, window trim, the input encoder (settings and a uint8 -> spike time table), the
  decision rule and its fallback, layer sizes, versions and the checkpoint's SHA-256;
  ``bstdg.runtime.load`` runs it with numpy only.
* ``model.nir``: the network as a NIR graph (Input -> Linear -> IF -> ... -> Output; ±1
  weights, IF thresholds, a self-inhibiting recurrent edge per layer for the single spike,
  the output delay as Delay nodes or, ``nir_delays=shift``, as a time shift for consumers
  without Delay; :mod:`bstdg.interop.nir_graph`), with its semantics in the metadata.
* ``metrics.json``: status, paths and sizes (``export/model_bytes`` against the fp32
  checkpoint's ``export/ckpt_bytes``).

Before it finishes, the export is checked: ``self_check_samples`` random inputs run through
the checkpoint's network and through the written file must give the same spike times (every
layer), potentials and decisions.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from bstdg import runtime
from bstdg.interop.nir_graph import DELAY_MODES, nir_graph
from bstdg.utils.checks import ConfigError
from bstdg.utils.task import CONFIG_DIR, output_dir, override_section, run_entry_point

MODEL_FILE = "model.npz"
NIR_FILE = "model.nir"



class ExportError(ConfigError):
    """The checkpoint cannot be exported; the message names the file and the fix."""


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encoder_settings(encoder: Any) -> tuple[dict[str, Any], np.ndarray | None]:
    """(settings, uint8 -> spike time table or None) of the run's encoder.

    Latency codes are elementwise, so the platform's own encoder applied to the intensities
    0..255 gives the runtime a table that reproduces it exactly."""
    from bstdg.encoding import LatencyEncoder, SHDFirstSpikeEncoder

    name = f"{type(encoder).__module__}.{type(encoder).__qualname__}"
    if isinstance(encoder, LatencyEncoder):
        table = encoder(torch.arange(256, dtype=torch.uint8)[None, :])[0]
        settings = {"kind": "latency", "target": name, "T": encoder.T, "code": encoder.code,
                    "zero_intensity_spikes": encoder.zero_intensity_spikes,
                    "intensity_threshold": encoder.intensity_threshold,
                    "x_min": encoder.x_min, "input": "uint8 intensities 0..255",
                    "table": "encoder.table"}
        return settings, table.numpy().astype(np.int32)
    if isinstance(encoder, SHDFirstSpikeEncoder):
        return {"kind": "shd_first_spike", "target": name, "T": encoder.T,
                "t_window": encoder.t_window, "n_channels": encoder.n_channels,
                "input": "float events (B, E, 2) = [time_seconds, unit]"}, None
    return {"kind": None, "target": name, "repr": repr(encoder),
            "input": "spike times (the runtime has no encoder for this one)"}, None


def export_arrays(model: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the network part of the metadata of a ``SpikingClassifier``."""
    net = model.net
    layers = list(net.layers)
    specs = [layer.spec for layer in layers]
    if not all(s.binary for s in specs):
        raise ExportError(
            "this network has real-valued weights (model.net.binary=false); bstdg-export "
            "writes binarized (+-1) networks only. Train with model.net.binary=true."
        )
    for field in ("delay", "window_trim", "T"):
        if len({getattr(s, field) for s in specs}) != 1:
            raise ExportError(f"the layers differ in {field}; the export format has one {field}")
    arrays: dict[str, np.ndarray] = {}
    layer_info = []
    for k, layer in enumerate(layers):
        w = layer.weight.detach().cpu()
        theta = layer.threshold.detach().cpu().to(torch.float32).reshape(-1)
        theta = theta.expand(layer.out_features).contiguous().numpy()
        arrays[f"layer{k}.weight_bits"] = np.packbits((w >= 0).numpy(), axis=1)  # sign(0)=+1
        arrays[f"layer{k}.threshold"] = theta.astype(np.float32)
        layer_info.append({"in": layer.in_features, "out": layer.out_features,
                           "threshold_mode": layer.threshold_mode})
    encoder, table = encoder_settings(model.encoder)
    if table is not None:
        arrays["encoder.table"] = table
    meta = {
        "sizes": [int(n) for n in net.sizes],
        "T": int(specs[0].T),
        "delay": int(specs[0].delay),
        "window_trim": int(specs[0].window_trim),
        "layers": layer_info,
        "neuron": {
            "model": "non-leaky integrate-and-fire, instantaneous synapses, at most one spike",
            "potential": "V_j(t) = sum_i w_ji [t_i <= t]",
            "spike": "t_j = min{t + delay : V_j(t) > theta_j, t + delay <= T - 1 - "
                     "window_trim}, else T (no spike)",
            "weights": "w = sign(W) with sign(0) = +1; np.packbits(W >= 0, axis=1), bit 1 = +1",
            "threshold": "float32 as the forward uses it (trained value, clamped during "
                         "training); V > theta <=> V > floor(theta) for integer V",
        },
        "decision": {"rule": "earliest output spike; ties: larger V at the firing step, then "
                             "lower index", "fallback": str(model.fallback),
                     "fallback_offset": int(net.fallback_offset),
                     "fallback_potential": "V_out(T - fallback_offset)"},
        "encoder": encoder,
    }
    return arrays, meta


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` next to ``path``, then rename (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_model_file(path: Path, arrays: Mapping[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write the ``.npz`` (no object arrays; metadata as a JSON string with every array's
    shape, dtype and SHA-256)."""
    meta = {"format": runtime.FORMAT, "format_version": runtime.FORMAT_VERSION, **meta,
            "arrays": {name: runtime.array_entry(a) for name, a in arrays.items()}}
    members = {"metadata": np.array(json.dumps(meta, indent=1)), **arrays}

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez_compressed(fh, **members)  # type: ignore[arg-type]

    _atomic_write(path, write)


def write_export(model: Any, path: Path, source: Mapping[str, Any]) -> runtime.ExportedModel:
    """Write ``model`` (a ``SpikingClassifier``, or anything with ``net``, ``encoder`` and
    ``fallback``) to ``path`` with ``source`` (checkpoint path, SHA-256, ...) in its metadata;
    returns the file as :func:`bstdg.runtime.load` reads it."""
    arrays, meta = export_arrays(model)
    meta["source"] = dict(source)
    meta["versions"] = {pkg: _version(pkg) for pkg in
                        ("bstdg", "torch", "pytorch-lightning", "numpy", "nir")}
    meta["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_model_file(path, arrays, meta)
    return runtime.load(path)


def payload_bytes(exported: runtime.ExportedModel) -> int:
    """Bytes of the arrays in an export (bit-packed weights, thresholds, encoder table)."""
    return sum(int(np.prod(a["shape"])) * np.dtype(a["dtype"]).itemsize
               for a in exported.metadata["arrays"].values())


def write_nir(path: Path, exported: runtime.ExportedModel, delays: str = "node") -> None:
    """The network as a NIR graph (:func:`bstdg.interop.nir_graph.nir_graph`)."""
    import nir

    try:
        graph = nir_graph(exported, delays)
    except ValueError as err:
        raise ExportError(f"{path} not written ({exported.path} is): {err}") from None
    _atomic_write(path, lambda tmp: nir.write(tmp, graph))


def _random_inputs(model: Any, n: int, seed: int) -> torch.Tensor:
    """Spike times (n, n_inputs) for the self-check: half encoded random uint8 images (image
    encoders), half random times with a per-sample spiking density in (0.02, 0.9)."""
    gen = torch.Generator().manual_seed(seed)
    n_in, T = int(model.net.sizes[0]), int(model.net.T)
    density = torch.rand(n, 1, generator=gen) * 0.88 + 0.02
    times = torch.randint(0, T, (n, n_in), generator=gen)
    times = torch.where(torch.rand(n, n_in, generator=gen) < density, times, T)
    from bstdg.encoding import LatencyEncoder

    if isinstance(model.encoder, LatencyEncoder) and n >= 2:
        x = torch.randint(0, 256, (n // 2, n_in), generator=gen, dtype=torch.uint8)
        times[: n // 2] = model.encoder(x)
    return times


@torch.no_grad()
def self_check(model: Any, exported: runtime.ExportedModel, n: int, seed: int) -> None:
    """Run ``n`` random inputs through the checkpoint's network and the exported file; any
    difference in spike times (every layer), output potentials or decisions is an error."""
    from bstdg.snn.readout import decide

    if n <= 0:
        return
    t_in = _random_inputs(model, n, seed)
    out = model.net(t_in)
    mine = exported.forward(t_in.numpy())
    pred = decide(out.out_times, out.v_fire, out.v_end, model.T, model.fallback).numpy()
    checks = [(f"layer{k} spike times", t.long().numpy(), m)
              for k, (t, m) in enumerate(zip(out.times, mine.times, strict=True))]
    checks += [("output v_fire", out.v_fire.double().numpy(), mine.v_fire),
               ("output v_end", out.v_end.double().numpy(), mine.v_end),
               ("decisions", pred, exported.decide(mine))]
    for what, ref, got in checks:
        if not np.array_equal(ref, got):
            bad = int((np.asarray(ref) != np.asarray(got)).any(axis=-1).sum()) \
                if np.ndim(ref) > 1 else int((ref != got).sum())
            raise ExportError(
                f"self-check failed: the exported file {exported.path} gives other {what} than "
                f"the checkpoint on {bad} of {n} random samples; this is a bug in "
                f"bstdg-export/bstdg.runtime (report it with the checkpoint)."
            )


def export(cfg: DictConfig, objects: dict[str, Any] | None = None
           ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Export ``cfg.ckpt_path`` into the run dir; returns (metrics, objects)."""
    from bstdg.loading import load_run
    from bstdg.utils.checkpoint import read_checkpoint

    objects = {} if objects is None else objects
    ckpt_value = OmegaConf.select(cfg, "ckpt_path", default=None, throw_on_missing=False)
    if not ckpt_value:
        raise ExportError("no checkpoint given: bstdg-export ckpt_path=RUN/checkpoints/last.ckpt")
    ckpt = Path(str(ckpt_value))
    delays = str(cfg.get("nir_delays", "node"))
    if delays not in DELAY_MODES:
        raise ExportError(f"unknown nir_delays={delays!r}; valid: {', '.join(DELAY_MODES)} "
                          f"(shift: for NIR consumers without a Delay node, e.g. norse)")
    loaded = load_run(ckpt)
    model = loaded.model
    objects.update(model=model, ckpt_path=str(ckpt))
    run_name = OmegaConf.select(loaded.config, "run_name", default=None)
    if run_name is not None:
        with open_dict(cfg):
            cfg.run_name = run_name
    checkpoint = read_checkpoint(ckpt)
    source = {
        "checkpoint": str(ckpt), "checkpoint_sha256": sha256_file(ckpt),
        "checkpoint_bytes": ckpt.stat().st_size, "run_name": run_name,
        "epoch": checkpoint.get("epoch"), "global_step": checkpoint.get("global_step"),
    }
    out = output_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / MODEL_FILE
    exported = write_export(model, model_path, source)
    objects["model_file_path"] = str(model_path)
    n_checked = int(cfg.get("self_check_samples", 256))
    try:
        self_check(model, exported, n_checked, int(cfg.get("seed", 0)))
    except ExportError:
        model_path.unlink()  # never leave a file that disagrees with its checkpoint
        raise
    ckpt_bytes, model_bytes = ckpt.stat().st_size, model_path.stat().st_size
    n_weights = sum(layer.weight.numel() for layer in model.net.layers)
    n_thresholds = sum(int(layer.out_features) for layer in model.net.layers)
    metrics: dict[str, Any] = {
        "export/model_bytes": model_bytes,
        "export/ckpt_bytes": ckpt_bytes,
        "export/params_fp32_bytes": 4 * (n_weights + n_thresholds),
        "export/payload_bytes": payload_bytes(exported),
        "export/ckpt_over_model": ckpt_bytes / model_bytes,
        "export/self_check_samples": n_checked,
    }
    if cfg.get("nir", True):
        nir_path = out / NIR_FILE
        write_nir(nir_path, exported, delays)
        objects["nir_path"] = str(nir_path)
        metrics["export/nir_bytes"] = nir_path.stat().st_size
    checked = (f"self-check: {n_checked}/{n_checked} random samples identical (spike times, "
               "output potentials, decisions)" if n_checked > 0 else "self-check: skipped")
    print(
        f"exported {ckpt} ({'-'.join(map(str, exported.sizes))}, T={exported.T})\n"
        f"  {checked}\n"
        f"  {model_path}: sha256 {sha256_file(model_path)}\n"
        f"  {model_path}: {model_bytes:,} bytes (checkpoint {ckpt_bytes:,} bytes, "
        f"{ckpt_bytes / model_bytes:.0f}x larger; fp32 weights and thresholds alone "
        f"{metrics['export/params_fp32_bytes']:,} bytes)"
        + (f"\n  {objects['nir_path']}: {metrics['export/nir_bytes']:,} bytes (NIR graph)"
           if "nir_path" in objects else "")
    )
    return metrics, objects


USAGE = (
    "bstdg-export writes a checkpoint of a bstdg-train run as model.npz (numpy runtime) and "
    "model.nir:\n"
    "  bstdg-export ckpt_path=RUN/checkpoints/last.ckpt [hydra.run.dir=DIR] "
    "[self_check_samples=256] [nir=false] [nir_delays=node|shift]\n"
    "The network, encoder and decision rule come from the checkpoint; they cannot be "
    "overridden here (retrain, or evaluate other settings with bstdg-eval)."
)
# Top-level keys of conf/export.yaml a command line may set (``hydra.*`` as well).
EXPORT_KEYS = ("ckpt_path", "self_check_samples", "nir", "nir_delays", "seed", "run_name", "tags",
               "task_name", "paths", "extras", "hydra", "local")


def foreign_overrides(args: list[str]) -> list[str]:
    """Command-line overrides of keys bstdg-export does not have (``experiment=...``,
    ``data.batch_size=...``, ``model.net.hidden=...``)."""
    return [arg for arg in args
            if (section := override_section(arg)) is not None and section not in EXPORT_KEYS]


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="export.yaml")
def _main(cfg: DictConfig) -> None:
    run_entry_point("bstdg-export", export, cfg)


def main() -> None:
    """Console script: refuse settings export does not take with a usage message, then run."""
    bad = foreign_overrides(sys.argv[1:])
    if bad:
        print(f"bstdg-export: error: {' '.join(bad)} is not a bstdg-export option.\n{USAGE}",
              file=sys.stderr)
        raise SystemExit(2)
    _main()


if __name__ == "__main__":
    main()
