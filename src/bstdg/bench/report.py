"""Headline ratios, targets and the printed table, all from one run's measurements."""

from __future__ import annotations

import math
import statistics
from typing import Any

# key -> (description, comparison, target); informational only, never asserted. A target of
# None marks a ratio reported beside a target it does not carry: the inference target (>= 1.0x
# the ANN) may be met with early exit, labelled as such, so the full-window ratio is shown
# without a verdict of its own.
TARGETS: dict[str, tuple[str, str, float | None]] = {
    "train_epoch_ratio_vs_ann": ("BSTDG / ANN train epoch time, T=64", "<=", 1.0),
    "infer_throughput_ratio_vs_ann": ("BSTDG / ANN inference samples/s, T=64, full window; "
                                      "the inference target is the early exit's", ">=", None),
    "infer_early_exit_ratio_vs_ann": ("BSTDG / ANN inference samples/s, T=64, early exit "
                                      "(each sample stops at its first output spike): the "
                                      "inference target", ">=", 1.0),
    "train_speedup_vs_clock_driven": ("clock-driven / BSTDG train epoch, T=256", ">=", 100.0),
    "train_speedup_vs_bptt": ("BPTT / BSTDG train epoch, T=64", ">=", 30.0),
    "peak_mem_ratio_t256_vs_t16": ("BSTDG train-step memory T=256 / T=16", "<=", 1.2),
    "lightning_vs_kernel_train_ratio": ("Lightning loop / bare step train samples/s, "
                                        "batch 32 (--lightning)", ">=", 0.5),
    "online_bs4nn_epoch_s": ("BS4NN epoch (55k samples, T=256) by online SGD, seconds "
                             "(--baselines)", "<=", 30.0),
    "online_vs_batch1_epoch_ratio": ("BS4NN batch-1 Lightning epoch / online epoch "
                                     "(--baselines)", ">=", 15.0),
}


def _get(results: dict[str, Any], model: str, T: int | None, *path: str) -> float | None:
    entry = results.get(model, {})
    if T is not None:
        entry = entry.get(str(T), {})
    for key in path:
        if not isinstance(entry, dict) or key not in entry:
            return None
        entry = entry[key]
    return float(entry) if isinstance(entry, (int, float)) else None


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or not math.isfinite(a) or not math.isfinite(b):
        return None
    return a / b


def peak_bytes(memory: dict[str, Any], model: str, T: int) -> float | None:
    return _get(memory, model, T, "peak_bytes")


# ratio key -> (numerator, denominator), each (model, T, kind, figure). Both sides are timed in
# the same interleaved repeat, so the ratio is formed per repeat and its median reported.
PAIRED_RATIOS: dict[str, tuple[tuple[str, int | None, str, str], ...]] = {
    "train_epoch_ratio_vs_ann": (("bstdg", 64, "train", "epoch_s"),
                                 ("ann", None, "train", "epoch_s")),
    "infer_throughput_ratio_vs_ann": (("bstdg", 64, "infer", "samples_per_s"),
                                      ("ann", None, "infer", "samples_per_s")),
    "infer_early_exit_ratio_vs_ann": (("bstdg", 64, "infer_early_exit", "samples_per_s"),
                                      ("ann", None, "infer", "samples_per_s")),
    "train_speedup_vs_clock_driven": (("clock_driven", 256, "train", "epoch_s"),
                                      ("bstdg", 256, "train", "epoch_s")),
    "train_speedup_vs_bptt": (("bptt", 64, "train", "epoch_s"),
                              ("bstdg", 64, "train", "epoch_s")),
}


def _series(results: dict[str, Any], model: str, T: int | None, kind: str,
            figure: str) -> list[float] | None:
    """The per-repeat values of one figure (the median alone for a report without them)."""
    entry = results.get(model, {})
    entry = entry.get(str(T), {}) if T is not None else entry
    stats = entry.get(kind, {}).get(figure) if isinstance(entry, dict) else None
    if not isinstance(stats, dict):
        return None
    values = stats.get("values") or [stats.get("median")]
    return [float(v) for v in values] if all(isinstance(v, (int, float)) for v in values) \
        else None


def paired_ratios(results: dict[str, Any], num: tuple[str, int | None, str, str],
                  den: tuple[str, int | None, str, str]) -> list[float] | None:
    """num / den in each repeat (both sides from the same repeat), each side a (model, T,
    kind, figure); the ratio of the medians where the repeat counts differ; None where a side
    was not measured."""
    a, b = _series(results, *num), _series(results, *den)
    if a is None or b is None:
        return None
    if len(a) != len(b):
        a, b = [statistics.median(a)], [statistics.median(b)]
    ratios = [_div(x, y) for x, y in zip(a, b, strict=True)]
    return None if any(r is None for r in ratios) else ratios


def _paired_median(results: dict[str, Any], num: tuple[str, int | None, str, str],
                   den: tuple[str, int | None, str, str]) -> float | None:
    ratios = paired_ratios(results, num, den)
    return None if ratios is None else statistics.median(ratios)


def per_repeat_ratios(results: dict[str, Any]) -> dict[str, list[float]]:
    """Per headline ratio, its value in each repeat (:func:`paired_ratios`)."""
    out = {}
    for key, (num, den) in PAIRED_RATIOS.items():
        ratios = paired_ratios(results, num, den)
        if ratios is not None:
            out[key] = ratios
    return out


def headline_ratios(results: dict[str, Any], memory: dict[str, Any]) -> dict[str, float | None]:
    """The headline ratios (targets in ``TARGETS``): the median over repeats of the
    per-repeat ratio; None where a needed figure was not measured."""
    paired = per_repeat_ratios(results)
    out: dict[str, float | None] = {
        key: statistics.median(paired[key]) if key in paired else None for key in PAIRED_RATIOS}
    out["peak_mem_ratio_t256_vs_t16"] = memory_ratio(memory)[0]
    return out


def memory_ratio(memory: dict[str, Any], model: str = "bstdg") -> tuple[float | None, str]:
    """(T=256 / T=16 memory of one training step, basis).

    Basis ``step_growth``: peak during the step minus the memory just before it, i.e. what
    the step itself needs (the fixed cost of imports, kernels, model and data excluded, and
    with it their run-to-run noise). Falls back to ``process_peak`` (whole-process peak
    ratio) where a growth is 0 and no ratio can be formed.
    """
    growth = step_growth_ratios(memory).get(model)
    if growth is not None:
        return growth, "step_growth"
    return _div(peak_bytes(memory, model, 256), peak_bytes(memory, model, 16)), "process_peak"


def step_growth_ratios(memory: dict[str, Any]) -> dict[str, float | None]:
    """Per model: step growth (peak - baseline) at T=256 / at T=16; None if either is 0."""
    out = {}
    for model in memory:
        a = _get(memory, model, 256, "step_bytes")
        b = _get(memory, model, 16, "step_bytes")
        out[model] = _div(a, b) if a and b else None
    return out


def target_status(ratios: dict[str, float | None]) -> dict[str, dict[str, Any]]:
    out = {}
    for key, (desc, op, target) in TARGETS.items():
        value = ratios.get(key)
        if target is None:  # reported beside a target, not one itself
            out[key] = {"description": desc, "value": value, "target": None, "met": None}
            continue
        met = None if value is None else (value <= target if op == "<=" else value >= target)
        out[key] = {"description": desc, "value": value, "target": f"{op} {target:g}",
                    "met": met}
    return out


def _num(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "-"
    return f"{x:,.{digits}f}"


def _ratio(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}x"


def _mib(x: float | None) -> str:
    return "-" if x is None else f"{x / 2**20:,.1f}"


def format_report(report: dict[str, Any]) -> str:
    results, memory = report["results"], report["peak_memory"]
    data_label = {"mnist": "mnist (real MNIST training images)",
                  "synthetic": "synthetic (MNIST-shaped uint8 prototypes; NOT real MNIST)"}
    lines = [
        f"bstdg-bench   data: {data_label.get(report['data'], report['data'])}",
        f"device: {report['device']} ({report.get('device_name', '?')}, "
        f"{report.get('cpu_simd', '?')})   threads: torch {report['threads']} / numba "
        f"{report['numba_threads']}   BSTDG backend: {report['bstdg_backend']}   "
        f"quick: {report['quick']}   repeats: {report['repeats']}   "
        f"epoch = {report['epoch_samples']} samples (* = extrapolated from train n)",
    ]
    load, cpus = report.get("loadavg_start", [0.0])[0], report.get("cpu_count") or 1
    lines.append(f"load average at start {load:.2f} / end {report['loadavg_end'][0]:.2f} on "
                 f"{cpus} CPUs; OMP_WAIT_POLICY={report['env'].get('OMP_WAIT_POLICY')}")
    if load > 0.5 * cpus:
        lines.append("WARNING: the machine was busy when the run started; timings are "
                     "contended (with several threads, OpenMP spin-waiting makes this worse; "
                     "OMP_WAIT_POLICY=PASSIVE helps).")
    lines.append("")
    head = (f"{'model':<13}{'T':>5}{'train samp/s':>14}{'epoch s median [min-max]':>30}"
            f"{'infer samp/s':>14}{'train n':>9}  ratios")
    lines += [head, "-" * len(head)]
    ann_epoch = ("ann", None, "train", "epoch_s")
    ann_infer = ("ann", None, "infer", "samples_per_s")
    for model, T, entry in report["rows"]:
        train, infer = entry["train"], entry["infer"]
        ep = train["epoch_s"]
        star = "*" if train["extrapolated"] else ""
        epoch = f"{ep['median']:.2f}{star} [{ep['min']:.2f}-{ep['max']:.2f}]"
        # ratios as the headline ones: the median of the per-repeat ratios
        if model == "bstdg":
            vs_epoch, vs_infer, vs_early = (
                _ratio(_paired_median(results, (model, T, kind, figure), ann))
                for kind, figure, ann in (("train", "epoch_s", ann_epoch),
                                          ("infer", "samples_per_s", ann_infer),
                                          ("infer_early_exit", "samples_per_s", ann_infer)))
            early = _get(results, model, T, "infer_early_exit", "samples_per_s", "median")
            note = (f"epoch {vs_epoch} ANN, infer {vs_infer} ANN "
                    f"(early exit {_num(early)}/s, {vs_early})")
        elif model in ("clock_driven", "bptt"):
            faster = _paired_median(results, (model, T, "train", "epoch_s"),
                                    ("bstdg", T, "train", "epoch_s"))
            note = f"BSTDG {_ratio(faster)} faster (train)"
        else:
            note = ""
        lines.append(
            f"{model:<13}{(T if T is not None else '-'):>5}"
            f"{_num(train['samples_per_s']['median']):>14}{epoch:>30}"
            f"{_num(infer['samples_per_s']['median']):>14}{train['samples_measured']:>9}  {note}"
        )
    if memory:
        growth = step_growth_ratios(memory)
        lines += ["", f"memory of one training step, batch {report['batch_size']} "
                      f"({report['memory_method']}), MiB:",
                  f"{'model':<13}{'peak T=16':>11}{'T=256':>9}{'ratio':>8}"
                  f"{'step growth T=16':>18}{'T=256':>9}{'ratio':>8}"]
        for model in memory:
            p16, p256 = peak_bytes(memory, model, 16), peak_bytes(memory, model, 256)
            lines.append(
                f"{model:<13}{_mib(p16):>11}{_mib(p256):>9}{_ratio(_div(p256, p16)):>8}"
                f"{_mib(_get(memory, model, 16, 'step_bytes')):>18}"
                f"{_mib(_get(memory, model, 256, 'step_bytes')):>9}"
                f"{_ratio(growth.get(model)):>8}"
            )
        lines.append(f"(peak_mem_ratio_t256_vs_t16 uses the {report['peak_mem_ratio_basis']} "
                     "ratio of bstdg)")
    loop = report.get("lightning_loop")
    if loop:
        lt, bt = loop["lightning_train_samples_per_s"], loop["bare_step_train_samples_per_s"]
        lines += ["", f"training loop, experiment={loop['experiment']}, batch "
                      f"{loop['batch_size']}, {loop['batches_per_repeat']} batches x "
                      f"{loop['repeats']} repeats (samples/s, median [min-max]):",
                  f"  Lightning fit   {_num(lt['median'])} [{_num(lt['min'])}-{_num(lt['max'])}]",
                  f"  bare step       {_num(bt['median'])} [{_num(bt['min'])}-{_num(bt['max'])}]",
                  "  ratio per repeat " + ", ".join(f"{r:.2f}" for r in loop["per_repeat_ratios"])]
    base = report.get("baselines")
    if base:
        on, b1 = base["online_s_per_sample"], base["batch1_s_per_sample"]
        lines += ["", f"baselines, experiment={base['experiment']}, {base['threads']} thread(s), "
                      f"ms per sample step, median [min-max] of {base['repeats']} repeats:",
                  f"  online SGD      {on['median'] * 1e3:.3f} [{on['min'] * 1e3:.3f}-"
                  f"{on['max'] * 1e3:.3f}]  epoch {base['online_bs4nn_epoch_s']:,.1f} s",
                  f"  batch-1 fit     {b1['median'] * 1e3:.3f} [{b1['min'] * 1e3:.3f}-"
                  f"{b1['max'] * 1e3:.3f}]  epoch {base['batch1_bs4nn_epoch_s']:,.1f} s",
                  f"  ({base['note']})"]
    lines += ["", format_targets(report["targets"], report.get("per_repeat_ratios", {}))]
    return "\n".join(lines)


def format_targets(targets: dict[str, dict[str, Any]],
                   spread: dict[str, list[float]] | None = None) -> str:
    """The verdict lines of :func:`target_status`: met, MISSED, not measured, or reported (a
    ratio shown beside a target it does not carry), with the per-repeat range if given."""
    lines = ["targets (information only, never asserted; median [min-max] of the per-repeat "
             "ratio):"]
    spread = spread or {}
    for key, st in targets.items():
        verdict = {True: "met", False: "MISSED", None: "not measured"}[st["met"]]
        if st["target"] is None:
            verdict = "reported" if st["value"] is not None else "not measured"
        value = "-" if st["value"] is None else f"{st['value']:.3g}"
        if spread.get(key):
            value += f" [{min(spread[key]):.3g}-{max(spread[key]):.3g}]"
        lines.append(f"  {key:<31} {value:>19}  target {st['target'] or '-':<8} {verdict:<12}"
                     f" ({st['description']})")
    return "\n".join(lines)
