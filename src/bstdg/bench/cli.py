"""Command line of ``bstdg-bench`` / ``python -m bstdg.bench``."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

QUICK = {"samples": 4096, "slow_samples": 256, "infer_samples": 8192}
FULL = {"samples": 60000, "slow_samples": 2048, "infer_samples": 10000}
EPOCH_SAMPLES = 60000
MEMORY_T = (16, 256)
ENV_KEYS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS",
            "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER", "BSTDG_DATA_DIR")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bstdg-bench",
        description="Training epoch time, inference throughput and train-step peak memory of "
                    "the 784-400-10 binarized BSTDG net against a same-shape ANN, a "
                    "clock-driven dense implementation and BPTT with a surrogate gradient, "
                    "all measured in this process.",
    )
    p.add_argument("--T", type=int, nargs="+", default=[16, 64, 256],
                   help="time steps for BSTDG and the clock-driven baseline (default 16 64 256)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch and numba threads (default: torch's current setting)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--out", default="bench.json", help="JSON output (default ./bench.json)")
    p.add_argument("--quick", action="store_true",
                   help=f"measure subsets (fast models {QUICK['samples']} train samples, "
                        f"clock-driven/BPTT {QUICK['slow_samples']}) and extrapolate to the "
                        f"{EPOCH_SAMPLES}-sample epoch")
    p.add_argument("--repeats", type=int, default=5,
                   help="timed repeats, interleaved across the models (default 5)")
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="each timing repeats whole passes until this many seconds have "
                        "elapsed (default 0.5)")
    p.add_argument("--batch-size", type=int, default=64, help="training batch (default 64)")
    p.add_argument("--data-dir", default=None,
                   help="dataset root holding MNIST/raw (default $BSTDG_DATA_DIR)")
    p.add_argument("--bptt-T", type=int, nargs="*", default=[64],
                   help="T values for the BPTT baseline (default 64)")
    p.add_argument("--lightning", action="store_true",
                   help="also time the Lightning training loop of an experiment against the "
                        "bare training step of the same model (bench.json key "
                        "lightning_vs_kernel_train_ratio)")
    p.add_argument("--lightning-experiment", default="mnist_bstdg",
                   help="experiment for --lightning (default mnist_bstdg)")
    p.add_argument("--lightning-batches", type=int, default=None,
                   help="training batches of 32 per timed --lightning repeat "
                        "(default 300, --quick 100)")
    p.add_argument("--lightning-from", default=None, metavar="CKPT",
                   help="start both sides of --lightning from this training checkpoint's "
                        "weights and optimiser state (a late epoch of a long run), e.g. "
                        "logs/.../checkpoints/last.ckpt of the same experiment")
    p.add_argument("--lightning-override", action="append", default=[], metavar="KEY=VALUE",
                   help="Hydra override for the --lightning experiment (repeatable), e.g. "
                        "callbacks.flush_denormals=null")
    p.add_argument("--baselines", action="store_true",
                   help="time only one BS4NN epoch (55k samples, T = 256) by online SGD "
                        "against the batch-1 Lightning path of mnist_bs4nn, each from part of "
                        "the epoch scaled up (bench.json keys online_bs4nn_epoch_s, "
                        "batch1_bs4nn_epoch_s, online_vs_batch1_epoch_ratio); use --threads 1")
    p.add_argument("--baselines-samples", type=int, default=None, metavar="N",
                   help="samples timed per online repeat (default 5000, --quick 1000)")
    p.add_argument("--baselines-batch1-samples", type=int, default=None, metavar="N",
                   help="batch-1 Lightning steps timed per repeat (default 300, --quick 100)")
    p.add_argument("--only-lightning", action="store_true", help=argparse.SUPPRESS)
    # Hidden knobs (tests, tuning).
    p.add_argument("--samples", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--slow-samples", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--infer-samples", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--infer-batch", type=int, default=1024, help=argparse.SUPPRESS)
    p.add_argument("--synthetic", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--memory-models", nargs="*", default=["bstdg", "clock_driven", "bptt"],
                   help=argparse.SUPPRESS)
    return p


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "torch": torch.__version__,
           "platform": platform.platform(), "machine": platform.machine(),
           "cpu_count": str(os.cpu_count())}
    for pkg in ("bstdg", "numba", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _numba_layer() -> dict[str, Any]:
    """numba's threading layer and the batch size from which kernels use every thread."""
    try:
        import numba

        from bstdg.snn.backends.numba.launch import PARALLEL_MIN_BATCH
    except ImportError:
        return {}
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        layer = "not started"
    return {"numba_threading_layer": layer, "numba_parallel_min_batch": PARALLEL_MIN_BATCH}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _lightning_section(args: argparse.Namespace, x: Any, y: Any) -> dict[str, Any]:
    """The Lightning-loop-vs-bare-step measurement (``bstdg.bench.lightning``)."""
    from bstdg.bench.data import load_inputs
    from bstdg.bench.lightning import LOOP_BATCH, measure_loop

    n_batches = args.lightning_batches or (100 if args.quick else 300)
    if n_batches < 1:
        raise ValueError(f"--lightning-batches must be >= 1, got {n_batches}")
    need = LOOP_BATCH * n_batches
    if len(x) < need:
        x, y, _ = load_inputs(need, args.data_dir, synthetic=args.synthetic)
    _log(f"  lightning loop: experiment={args.lightning_experiment}, {n_batches} batches of "
         f"{LOOP_BATCH} per repeat, {args.repeats} repeats")
    loop = measure_loop(x, y, batch=LOOP_BATCH, n_batches=n_batches, repeats=args.repeats,
                        experiment=args.lightning_experiment,
                        overrides=args.lightning_override, start_from=args.lightning_from)
    _log(f"  lightning     train {loop['lightning_train_samples_per_s']['median']:,.0f}/s  "
         f"bare step {loop['bare_step_train_samples_per_s']['median']:,.0f}/s  ratio "
         f"{loop['lightning_vs_kernel_train_ratio']:.2f}")
    return loop


def _baselines_section(args: argparse.Namespace) -> dict[str, Any]:
    """The online-vs-batch-1 BS4NN epoch (``bstdg.bench.online``)."""
    from bstdg.bench.data import load_inputs
    from bstdg.bench.online import measure_online

    samples = args.baselines_samples or (1000 if args.quick else 5000)
    batch1 = args.baselines_batch1_samples or (100 if args.quick else 300)
    x, y, _ = load_inputs(max(samples, batch1), args.data_dir, synthetic=args.synthetic)
    _log(f"  baselines: mnist_bs4nn, online {samples} and batch-1 {batch1} samples per repeat, "
         f"{args.repeats} repeats, scaled to the epoch")
    res = measure_online(x, y, samples, batch1, repeats=args.repeats)
    _log(f"  bs4nn epoch   online {res['online_bs4nn_epoch_s']:,.1f} s  batch-1 "
         f"{res['batch1_bs4nn_epoch_s']:,.1f} s  ratio {res['online_vs_batch1_epoch_ratio']:.1f}"
         f"  ({res['note']})")
    return res


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bstdg.bench.data import load_inputs
    from bstdg.bench.memory import step_memory_cpu, step_memory_cuda
    from bstdg.bench.models import SETTINGS, make_runner
    from bstdg.bench.report import (
        headline_ratios,
        memory_ratio,
        per_repeat_ratios,
        step_growth_ratios,
        target_status,
    )
    from bstdg.bench.timing import Setting, measure, set_threads
    from bstdg.snn import resolve_backend
    from bstdg.utils.run_info import cpu_model, cpu_simd

    started = time.perf_counter()
    load_start = os.getloadavg()
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda requested but torch.cuda.is_available() is False")
    numba_threads = set_threads(args.threads)
    n_total = max(sizes["samples"], sizes["infer_samples"], sizes["slow_samples"],
                  args.batch_size * 2)
    x, y, source = load_inputs(n_total, args.data_dir, synthetic=args.synthetic)
    _log(f"data: {source}, {len(x)} samples; device {device}; torch threads "
         f"{torch.get_num_threads()}, numba threads {numba_threads}")

    results: dict[str, Any] = {}
    rows: list[tuple[str, int | None, dict[str, Any]]] = []

    # (model, T, slow): the slow baselines time fewer samples
    only = args.only_lightning or args.baselines
    plan = [] if only else [
        ("ann", None, False),
        *((m, T, m != "bstdg") for T in args.T for m in ("bstdg", "clock_driven")),
        *(("bptt", T, True) for T in args.bptt_T),
    ]
    settings = {}
    for model, T, slow in plan:
        n_train = sizes["slow_samples"] if slow else sizes["samples"]
        n_infer = sizes["slow_samples"] if slow else sizes["infer_samples"]
        n_data = max(n_train, n_infer, 2 * args.batch_size)
        settings[model, T] = Setting(
            make_runner(model, x[:n_data], y[:n_data], T or 2, device), n_train, n_infer,
            min(args.infer_batch, 256) if slow else args.infer_batch)
    if settings:
        _log(f"timing {len(settings)} settings, {args.repeats} interleaved repeats, each "
             f"timing >= {args.min_seconds:g} s")
    measured = measure(settings, args.repeats, args.batch_size, EPOCH_SAMPLES, device,
                       min_seconds=args.min_seconds)
    for (model, T), entry in measured.items():
        entry["T"] = T
        if T is None:
            results[model] = entry
        else:
            results.setdefault(model, {})[str(T)] = entry
        rows.append((model, T, entry))
        _log(f"  {model:<13} T={T if T is not None else '-':<4} train "
             f"{entry['train']['samples_per_s']['median']:,.0f}/s  infer "
             f"{entry['infer']['samples_per_s']['median']:,.0f}/s")
    del settings
    loop = _lightning_section(args, x, y) if args.lightning or args.only_lightning else None
    baselines = _baselines_section(args) if args.baselines else None

    memory: dict[str, Any] = {}
    xb, yb = x[:args.batch_size], y[:args.batch_size]
    for model in [] if only else args.memory_models:
        for T in MEMORY_T:
            if device.type == "cuda":
                res = step_memory_cuda(model, T, xb, yb, device)
            else:
                res = step_memory_cpu(model, T, xb, yb, torch.get_num_threads())
            memory.setdefault(model, {})[str(T)] = res
            _log(f"  memory {model:<13} T={T:<4} peak {res['peak_bytes'] / 2**20:,.1f} MiB")

    ratios = headline_ratios(results, memory)
    if loop is not None:
        ratios["lightning_vs_kernel_train_ratio"] = loop["lightning_vs_kernel_train_ratio"]
    if baselines is not None:
        for key in ("online_bs4nn_epoch_s", "batch1_bs4nn_epoch_s",
                    "online_vs_batch1_epoch_ratio"):
            ratios[key] = baselines[key]
    report: dict[str, Any] = {
        "benchmark": "bstdg-bench",
        "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": bool(args.quick),
        "data": source,
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else cpu_model()),
        "cpu_simd": cpu_simd(),
        "threads": torch.get_num_threads(),
        "numba_threads": numba_threads,
        **_numba_layer(),
        "bstdg_backend": resolve_backend("auto", device),
        "versions": _versions(),
        **ratios,
        "targets": target_status(ratios),
        "per_repeat_ratios": per_repeat_ratios(results),
        "repeats": args.repeats,
        "min_seconds_per_timing": args.min_seconds,
        "batch_size": args.batch_size,
        "epoch_samples": EPOCH_SAMPLES,
        "samples_measured": {"fast_models_train": sizes["samples"],
                             "slow_models_train": sizes["slow_samples"],
                             "fast_models_infer": sizes["infer_samples"],
                             "slow_models_infer": sizes["slow_samples"],
                             "note": "samples per timed pass (a timing repeats passes for "
                                     "at least min_seconds_per_timing); epoch time = "
                                     "measured per-sample time x epoch_samples"},
        "settings": SETTINGS,
        "results": results,
        "peak_memory": memory,
        "lightning_loop": loop,
        "baselines": baselines,
        "peak_mem_ratio_basis": memory_ratio(memory)[1] if memory else None,
        "peak_mem_process_ratio_t256_vs_t16": {
            m: (None if not (memory[m]["16"]["peak_bytes"] and memory[m]["256"]["peak_bytes"])
                else memory[m]["256"]["peak_bytes"] / memory[m]["16"]["peak_bytes"])
            for m in memory},
        "peak_mem_step_growth_ratio_t256_vs_t16": step_growth_ratios(memory),
        "memory_method": ("torch.cuda.max_memory_allocated" if device.type == "cuda" else
                          "peak RSS of a fresh subprocess per setting, "
                          "VmHWM reset before the step"),
        "env": {k: os.environ.get(k) for k in ENV_KEYS},
        "cpu_count": os.cpu_count(),
        "loadavg_start": list(load_start),
        "loadavg_end": list(os.getloadavg()),
        "rows": rows,
    }
    report["wall_s"] = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    from bstdg.bench.report import format_report

    parser = _parser()
    args = parser.parse_args(argv)
    if (args.lightning_from or args.lightning_override) and not (args.lightning
                                                                 or args.only_lightning):
        parser.error("--lightning-from and --lightning-override apply to the Lightning loop "
                     "measurement: add --lightning")
    try:
        report = run(args)
    except (RuntimeError, ValueError) as exc:
        print(f"bstdg-bench: error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    out = Path(args.out)
    payload = {k: v for k, v in report.items() if k != "rows"}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {out} ({report['wall_s']:.1f} s)")
    return 0
