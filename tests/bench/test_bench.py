"""bstdg-bench: a tiny end-to-end run (JSON keys, finite positive figures, data label) and
the clock-driven baseline's agreement with the reference backend. No wall-clock assertions."""

from __future__ import annotations

import json
import math
import platform
import statistics
from importlib.metadata import version

import pytest
import torch

from bstdg.bench import main
from bstdg.bench.baselines import ClockDrivenNet
from bstdg.snn import GradientRule, SpikingNet, relative_target_mse
from bstdg.snn.backends.clock import clock_forward, clock_grads
from bstdg.snn.backends.reference import forward_reference, grads_reference
from bstdg.snn.spikes import binarize

HEADLINE = (
    "train_epoch_ratio_vs_ann",
    "infer_throughput_ratio_vs_ann",
    "infer_early_exit_ratio_vs_ann",
    "train_speedup_vs_clock_driven",
    "train_speedup_vs_bptt",
    "peak_mem_ratio_t256_vs_t16",
)


def _finite_positive(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_quick_run_writes_complete_json(tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    rc = main([
        "--quick", "--synthetic", "--threads", "1", "--repeats", "3", "--min-seconds", "0",
        "--samples", "128", "--slow-samples", "64", "--infer-samples", "256",
        "--memory-models", "bstdg", "--out", str(out),
    ])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "synthetic" in printed
    report = json.loads(out.read_text())
    for key in HEADLINE:
        assert _finite_positive(report[key]), (key, report[key])
    assert report["data"] == "synthetic"
    assert report["quick"] is True
    assert report["threads"] == 1
    assert report["device"] == "cpu"
    versions = report["versions"]
    assert versions["torch"] == torch.__version__ and versions["numba"] == version("numba")
    assert versions["python"] == platform.python_version()
    results = report["results"]
    ann = results["ann"]
    assert _finite_positive(ann["train"]["epoch_s"]["median"])
    for model, ts in (("bstdg", (16, 64, 256)), ("clock_driven", (16, 64, 256)),
                      ("bptt", (64,))):
        for T in ts:
            entry = results[model][str(T)]
            for stat in (entry["train"]["epoch_s"], entry["train"]["samples_per_s"],
                         entry["infer"]["samples_per_s"]):
                assert all(_finite_positive(stat[k]) for k in ("median", "min", "max"))
                assert stat["min"] <= stat["median"] <= stat["max"]
                assert len(stat["values"]) == 3
            assert entry["train"]["samples_measured"] > 0
            assert ("infer_early_exit" in entry) == (model == "bstdg")
    early = results["bstdg"]["64"]["infer_early_exit"]["samples_per_s"]["values"]
    ann_infer = ann["infer"]["samples_per_s"]["values"]
    per_repeat = [e / a for e, a in zip(early, ann_infer, strict=True)]
    assert report["per_repeat_ratios"]["infer_early_exit_ratio_vs_ann"] == per_repeat
    assert report["infer_early_exit_ratio_vs_ann"] == statistics.median(per_repeat)
    assert "early exit" in printed
    assert report["samples_measured"]["slow_models_train"] == 64
    for T in ("16", "256"):
        assert _finite_positive(report["peak_memory"]["bstdg"][T]["peak_bytes"])


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("delay", [0, 1])
def test_clock_driven_spike_times_equal_reference(binary: bool, delay: int) -> None:
    T = 24
    t_in = torch.randint(0, T + 1, (6, 40))
    w = torch.randn(25, 40) * 2
    w_hat = binarize(w) if binary else w
    theta = torch.rand(25) * 4 + 0.5
    dtype = torch.float32 if binary else torch.float64  # +-1 sums are exact in float32
    clock, raster = clock_forward(t_in, w_hat, theta, T, delay, dtype=dtype)
    ref = forward_reference(t_in, w_hat, theta, T, delay)
    assert torch.equal(clock.times, ref.times)
    assert torch.equal(clock.v_fire, ref.v_fire)
    assert torch.equal(clock.v_end, ref.v_end)
    assert raster.shape == (T, 6, 40)

    spec = GradientRule(kernel="exp", B=0.5).kernel_spec(T)
    g = torch.randn(6, 25)
    t_out = ref.times.float()
    gw, gt = clock_grads(raster.double(), t_out, g, w, spec, T)
    gw_ref, gt_ref = grads_reference(t_in, t_out, g, w, spec, T)
    torch.testing.assert_close(gw, gw_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gt, gt_ref, rtol=1e-5, atol=1e-5)


def test_clock_driven_net_matches_reference_backend() -> None:
    T = 32
    net = SpikingNet(50, 10, T, hidden=[30], backend="reference")
    t_in = torch.randint(0, T + 1, (8, 50)).float()
    labels = torch.randint(0, 10, (8,))

    out_ref = net(t_in)
    relative_target_mse(out_ref.out_times, labels, T).backward()
    grads_ref = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()

    out_clock = ClockDrivenNet(net)(t_in)
    relative_target_mse(out_clock.out_times, labels, T).backward()
    for a, b in zip(out_ref.times, out_clock.times, strict=True):
        assert torch.equal(a, b)
    for p, ref in zip(net.parameters(), grads_ref, strict=True):
        torch.testing.assert_close(p.grad, ref, rtol=1e-5, atol=1e-5)
