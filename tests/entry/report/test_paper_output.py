"""Paper-ready output of bstdg-report: the compact table.tex, the figures as PDF and PNG,
integer-aligned histogram bins (report and W&B), readable names derived from the runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bstdg.report.cli import main
from bstdg.report.formatting import dataset_name, method_name, structure_text, weights_text
from bstdg.report.plots import integer_bin_edges
from bstdg.report.tables import PAPER_MAX_COLUMNS, tabular_columns
from bstdg.tracking.media import decision_time_histogram
from helpers.report_fakes import write_csv_log, write_run

FIGURES = ("acc_vs_T", "acc_vs_hidden_spikes", "learning_curves", "decision_time_hist")
METHODS = {"bstdg": (0.972, 56.0), "bs4nn": (0.965, 247.0)}  # (acc at T=64, hidden spikes)
TS = (8, 16, 32)
SEEDS = (1, 2, 3)


def _record(method: str, T: int, seed: int, rng: np.random.Generator) -> dict:
    acc, spikes = METHODS[method]
    acc -= 0.004 * (64 / T) ** 0.5
    return {"experiment": f"mnist_{method}", "choice/model": method, "choice/data": "mnist",
            "seed": seed, "cfg/seed": seed, "cfg/data.seed": seed, "cfg/encoder.T": T,
            "cfg/model.net.hidden": [600], "cfg/model.net.binary": True,
            "test/acc": acc + rng.normal(0, 0.001), "test/acc_ties": acc + 0.001,
            "test/hidden_spikes": spikes * (1 + rng.normal(0, 0.03)),
            "test/decision_time": T / 5 + rng.normal(0, 0.2),
            # a preset that changes with the method only (absent from BSTDG's config)
            "cfg/model.net.threshold_mode": "bs4nn_fact" if method == "bs4nn" else "per_neuron",
            **({"cfg/model.net.fallback_offset": 3} if method == "bs4nn" else {})}


@pytest.fixture
def multirun(tmp_path: Path) -> Path:
    """Two methods x three T x three seeds on "MNIST": metrics.json, a CSV log of four
    epochs and per-sample decision steps (test_samples.npz) per run."""
    rng = np.random.default_rng(0)
    root = tmp_path / "multirun"
    job = 0
    for method in METHODS:
        for T in TS:
            for seed in SEEDS:
                record = _record(method, T, seed, rng)
                run = write_run(root, str(job), **record)
                final = record["test/acc"]
                write_csv_log(run, [final - 0.08 / (e + 1) + rng.normal(0, 0.003)
                                    for e in range(4)])
                steps = np.minimum(rng.poisson(T / 5, size=200), T).astype(np.int64)
                np.savez(run / "test_samples.npz", T=T, decision_time=steps)
                job += 1
    return root


def test_report_writes_a_compact_table_and_every_figure(multirun: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    assert main([str(multirun), "--out", str(out)]) == 0
    assert "18 runs averaged in 6 groups (by experiment, cfg/encoder.T, " in capsys.readouterr().out
    tex = (out / "table.tex").read_text()
    assert tabular_columns(tex) == [PAPER_MAX_COLUMNS]
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == 1, rule
    body = [line for line in tex.splitlines() if not line.startswith("%")]
    assert not [line for line in body if re.search(r"(?<!\\)[_%]", line)], body
    rows = [line for line in body if line.endswith(r"\\")][1:]
    assert len(rows) == 6 and all(line.count(" & ") == PAPER_MAX_COLUMNS - 1 for line in rows)
    first = rows[0].removesuffix(r" \\").split(" & ")
    assert first[:4] == ["BS4NN ($T$ = 8)", "MNIST", "784-600-10", "binary"]
    assert r"$\pm$" in first[4] and first[-1] == "3"
    assert "test/acc" not in tex and not (out / "table_full.tex").exists()
    for name in FIGURES:
        for ext in ("pdf", "png"):
            assert (out / f"{name}.{ext}").stat().st_size > 1000, f"{name}.{ext}"
        assert not (out / f"{name}.svg").exists()
    assert (out / "acc_vs_T.pdf").read_bytes().startswith(b"%PDF")


def test_full_tex_keeps_every_metric_behind_the_flag(multirun: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main([str(multirun), "--out", str(out), "--full-tex", "--no-plots"]) == 0
    full = (out / "table_full.tex").read_text()
    assert tabular_columns(full) == [4 + 1 + 4, 5]  # keys, n, every metric; published
    assert r"test/hidden\_spikes" in full and r"\bottomrule" in full
    assert tabular_columns((out / "table.tex").read_text()) == [PAPER_MAX_COLUMNS]
    assert not (out / "acc_vs_T.png").exists()


def test_one_setting_gets_no_T_figure_and_a_histogram_of_run_means(tmp_path: Path) -> None:
    """No T sweep: no acc_vs_T. No test_samples.npz: the histogram shows the runs' means."""
    rng = np.random.default_rng(1)
    for seed in SEEDS:
        write_run(tmp_path / "runs", str(seed), **_record("bstdg", 16, seed, rng))
    out = tmp_path / "report"
    assert main([str(tmp_path / "runs"), "--out", str(out)]) == 0
    assert not (out / "acc_vs_T.png").exists()
    assert (out / "decision_time_hist.png").is_file()
    assert (out / "acc_vs_hidden_spikes.pdf").is_file()
    assert tabular_columns((out / "table.tex").read_text()) == [PAPER_MAX_COLUMNS]
    assert "BSTDG & MNIST & 784-600-10 & binary" in (out / "table.tex").read_text()


def test_integer_bin_edges_are_half_integers_one_bin_per_integer() -> None:
    values = np.array([0, 3, 3, 7, 12, 12, 12, 5])
    edges = integer_bin_edges(values)
    assert np.array_equal(edges, np.arange(-0.5, 13.0, 1.0))
    assert np.all(np.abs(edges - np.round(edges)) == 0.5)
    counts, _ = np.histogram(values, bins=edges)
    assert counts.sum() == len(values) and len(counts) == 13
    for k in range(13):  # every integer in its own bin, with its own count
        assert counts[k] == np.count_nonzero(values == k)
    assert np.array_equal(integer_bin_edges([4.0, 4.0]), [3.5, 4.5])
    assert np.array_equal(integer_bin_edges([np.nan]), [-0.5, 0.5])


def test_integer_bin_edges_widen_by_whole_integers_past_max_bins() -> None:
    edges = integer_bin_edges([0, 1000], max_bins=512)
    assert len(edges) - 1 <= 512 and np.all(np.abs(edges - np.round(edges)) == 0.5)
    assert set(np.diff(edges)) == {2.0} and edges[0] == -0.5 and edges[-1] >= 1000.5
    with pytest.raises(ValueError, match="max_bins"):
        integer_bin_edges([1], max_bins=0)


def test_wandb_decision_time_histogram_has_one_bin_per_step() -> None:
    T = 64
    times = np.array([0, 1, 1, 2, 5, 63, 64, 64])
    hist = decision_time_histogram(times, T)
    assert hist.bins[0] == -0.5 and hist.bins[-1] == T + 0.5 and len(hist.histogram) == T + 1
    assert hist.histogram[1] == 2 and hist.histogram[T] == 2 and hist.histogram[3] == 0
    assert sum(hist.histogram) == len(times)


def test_names_from_what_the_runs_carry() -> None:
    caltech = {"experiment": "caltech_bstdg", "choice/model": "bstdg",
               "choice/data": "caltech_face_motorbike", "cfg/model.net.binary": True,
               "cfg/model.net.hidden": "[100]", "cfg/data.resize": json.dumps([20, 31]),
               "cfg/data.dog_filter": "none", "cfg/data.classes": '["Faces","Motorbikes"]'}
    assert (method_name(caltech), dataset_name(caltech), structure_text(caltech),
            weights_text(caltech)) == ("BSTDG", "Caltech F/M", "620-100-2", "binary")
    fmnist = {"experiment": "fmnist_bs4nn", "cfg/model.net.hidden": [1000]}
    assert (method_name(fmnist), dataset_name(fmnist), structure_text(fmnist),
            weights_text(fmnist)) == ("BS4NN", "Fashion-MNIST", "784-1000-10", "binary")
    s4nn = {"experiment": "shd_s4nn", "choice/model": "s4nn", "choice/data": "shd",
            "cfg/model.net.binary": False, "cfg/model.net.hidden": "[400]"}
    assert (method_name(s4nn), dataset_name(s4nn), structure_text(s4nn),
            weights_text(s4nn)) == ("S4NN", "SHD", "700-400-20", "real")
    synthetic = {"experiment": "synthetic_quickstart", "choice/model": "bstdg",
                 "choice/data": "synthetic", "cfg/data.n_inputs": 64,
                 "cfg/data.n_classes": 4, "cfg/model.net.hidden": "[64]"}
    assert structure_text(synthetic) == "64-64-4" and dataset_name(synthetic) == "Synthetic"
    assert (method_name({"experiment": "exp_a"}), structure_text({})) == ("exp_a", "–")
