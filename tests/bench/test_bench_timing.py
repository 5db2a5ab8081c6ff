"""The benchmark's timing protocol: interleaved repeats, minimum timing length, ratios formed
per repeat. Fake runners record calls; nothing here asserts a speed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from bstdg.bench import timing
from bstdg.bench.report import format_targets, headline_ratios, per_repeat_ratios, target_status
from bstdg.bench.timing import Setting, measure

CPU = torch.device("cpu")


@dataclass
class FakeClock:
    """A perf_counter that moves only when a fake runner works (no sleep, no load effects)."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeRunner:
    name: str
    log: list[str]
    step_s: float = 0.0
    early_exit: bool = False
    passes: dict[str, int] = field(default_factory=dict)
    clock: FakeClock | None = None

    def _call(self, kind: str, lo: int) -> None:
        if lo == 0:
            self.passes[kind] = self.passes.get(kind, 0) + 1
            self.log.append(f"{self.name}.{kind}")
        if self.clock is not None:
            self.clock.now += self.step_s

    def train_batch(self, lo: int, hi: int) -> None:
        self._call("train", lo)

    def infer_batch(self, lo: int, hi: int) -> None:
        self._call("infer", lo)

    @property
    def infer_early_exit_batch(self):
        return (lambda lo, hi: self._call("early", lo)) if self.early_exit else None


def test_repeats_are_interleaved_across_settings() -> None:
    log: list[str] = []
    settings = {name: Setting(FakeRunner(name, log, early_exit=name == "b"), 8, 8, 8)
                for name in ("a", "b")}
    out = measure(settings, repeats=2, batch=8, epoch_samples=80, device=CPU,
                  warmup_batches=1)
    timed = log[5:]  # warm-up: a.train, a.infer, b.train, b.infer, b.early
    one_repeat = ["a.train", "b.train", "a.infer", "b.infer", "b.early"]
    assert timed == one_repeat * 2
    assert len(out["b"]["infer_early_exit"]["samples_per_s"]["values"]) == 2
    assert "infer_early_exit" not in out["a"]
    assert out["a"]["train"]["extrapolated"] and out["a"]["train"]["samples_measured"] == 8


def test_each_timing_runs_whole_passes_for_at_least_min_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", clock)
    runner = FakeRunner("a", [], step_s=2.0**-7, clock=clock)
    measure({"a": Setting(runner, 4, 4, 4)}, repeats=1, batch=4, epoch_samples=4, device=CPU,
            min_seconds=2.0**-5, warmup_batches=1)
    # one warm-up pass each, then whole passes of 2^-7 s until 2^-5 s: exactly four
    assert runner.passes == {"train": 1 + 4, "infer": 1 + 4}
    quick = FakeRunner("b", [], step_s=2.0**-7, clock=clock)
    measure({"b": Setting(quick, 4, 4, 4)}, repeats=3, batch=4, epoch_samples=4, device=CPU,
            min_seconds=0.0, warmup_batches=1)
    assert quick.passes == {"train": 1 + 3, "infer": 1 + 3}


def _entry(epoch_s: list[float]) -> dict:
    return {"train": {"epoch_s": {"median": sorted(epoch_s)[len(epoch_s) // 2],
                                  "values": epoch_s}}}


def test_ratios_are_formed_per_repeat_then_medianed() -> None:
    # repeat 3 ran while the machine was busy for BSTDG only: paired, it is one outlier of
    # three; the ratio of the medians (2.2 / 2 = 1.1) would mix the repeats
    results = {"ann": _entry([1.0, 2.0, 3.0]), "bstdg": {"64": _entry([1.5, 2.2, 9.0])}}
    ratios = per_repeat_ratios(results)
    assert ratios["train_epoch_ratio_vs_ann"] == pytest.approx([1.5, 1.1, 3.0])
    headline = headline_ratios(results, {})
    assert headline["train_epoch_ratio_vs_ann"] == pytest.approx(1.5)
    assert headline["train_speedup_vs_bptt"] is None  # not measured


def test_reports_without_per_repeat_values_fall_back_to_medians() -> None:
    results = {"ann": {"train": {"epoch_s": {"median": 2.0}}},
               "bstdg": {"64": {"train": {"epoch_s": {"median": 3.0, "values": [3.0, 3.0]}}}}}
    assert per_repeat_ratios(results)["train_epoch_ratio_vs_ann"] == [1.5]


def test_the_inference_target_is_the_early_exits_and_the_full_window_is_reported() -> None:
    status = target_status({"infer_throughput_ratio_vs_ann": 0.9,
                            "infer_early_exit_ratio_vs_ann": 1.8,
                            "train_epoch_ratio_vs_ann": 1.2})
    assert status["infer_throughput_ratio_vs_ann"]["target"] is None
    assert status["infer_throughput_ratio_vs_ann"]["met"] is None
    assert status["infer_early_exit_ratio_vs_ann"]["met"] is True
    assert status["train_epoch_ratio_vs_ann"]["met"] is False
    lines = {line.split()[0]: line for line in format_targets(status).splitlines()[1:]}
    assert "reported" in lines["infer_throughput_ratio_vs_ann"]
    assert "MISSED" not in lines["infer_throughput_ratio_vs_ann"]
    assert "MISSED" in lines["train_epoch_ratio_vs_ann"]
    assert "not measured" in lines["train_speedup_vs_bptt"]
