"""bstdg-bench --baselines: the online BS4NN epoch beside the batch-1 Lightning epoch."""

from __future__ import annotations

import json
import statistics

from bstdg.bench import main


def test_baselines_write_the_online_and_batch1_epochs(tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    rc = main(["--quick", "--synthetic", "--threads", "1", "--repeats", "2", "--baselines",
               "--baselines-samples", "64", "--baselines-batch1-samples", "4",
               "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "baselines, experiment=mnist_bs4nn" in printed and "scaled from 64" in printed
    report = json.loads(out.read_text())
    base = report["baselines"]
    online = base["online_s_per_sample"]["values"]
    batch1 = base["batch1_s_per_sample"]["values"]
    assert len(online) == len(batch1) == 2 and min(online + batch1) > 0
    epoch = statistics.median(online) * 55000
    assert report["online_bs4nn_epoch_s"] == base["online_bs4nn_epoch_s"] == epoch
    assert report["online_vs_batch1_epoch_ratio"] == statistics.median(batch1) * 55000 / epoch
    assert report["targets"]["online_bs4nn_epoch_s"]["value"] == epoch
    assert report["results"] == {} and report["peak_memory"] == {}
