"""The reader of offline W&B run files, on files written here in W&B's record format."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
from wandb.proto import wandb_internal_pb2 as pb

from bstdg.tracking.offline_runs import (
    BLOCK,
    HEADER,
    OfflineRunError,
    load_offline_run,
    read_records,
)


def _chunk(kind: int, payload: bytes) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(bytes([kind])))
    return struct.pack("<IHB", crc, len(payload), kind) + payload


def _write(path: Path, records: list[pb.Record]) -> bytes:
    """W&B's log format: records split into chunks that never cross a 32 KiB block."""
    out = bytearray(HEADER)
    for record in records:
        data = record.SerializeToString()
        first = True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += b"\0" * left
                left = BLOCK
            take = min(len(data), left - 7)
            last = take == len(data)
            kind = (1 if last else 2) if first else (4 if last else 3)
            out += _chunk(kind, data[:take])
            data, first = data[take:], False
            if last:
                break
    path.write_bytes(bytes(out))
    return bytes(out)


def _records(n_history: int) -> list[pb.Record]:
    run = pb.Record()
    run.run.run_id, run.run.display_name, run.run.run_group = "abc", "exp-T16", "stamp"
    run.run.job_type = "train"
    config = pb.Record()
    item = config.config.update.add()
    item.key, item.value_json = "encoder", json.dumps({"T": 16})
    metric = pb.Record()
    metric.metric.name, metric.metric.step_metric = "val/acc", "epoch"
    metric.metric.summary.max = True
    rows = []
    for step in range(n_history):
        row = pb.Record()
        for key, value in (("val/acc", step / 10), ("epoch", step)):
            entry = row.history.item.add()
            entry.key, entry.value_json = key, json.dumps(value)
        entry = row.history.item.add()
        entry.nested_key.extend(["media/val/raster/input", "_type"])
        entry.value_json = json.dumps("image-file")
        rows.append(row)
    big = pb.Record()  # a record larger than a block
    item = big.config.update.add()
    item.key, item.value_json = "blob", json.dumps("x" * (2 * BLOCK))
    return [run, config, metric, *rows, big]


def test_records_are_read_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "run-abc.wandb"
    _write(path, _records(400))
    assert len(read_records(path)) == 404
    run = load_offline_run(tmp_path)
    assert (run.name, run.group, run.job_type, run.run_id) == ("exp-T16", "stamp", "train", "abc")
    assert run.config["encoder"] == {"T": 16} and len(run.config["blob"]) == 2 * BLOCK
    assert run.metrics["val/acc"].step_metric == "epoch" and run.metrics["val/acc"].summary.max
    assert len(run.history) == 400 and run.history[-1]["epoch"] == 399
    assert run.media_type("media/val/raster/input") == "image-file"
    assert run.media_type("val/acc") is None


def test_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    data = _write(tmp_path / "full.wandb", _records(3))
    torn = tmp_path / "torn.wandb"
    torn.write_bytes(data[:-100])
    assert len(read_records(torn)) == len(read_records(tmp_path / "full.wandb")) - 1


def test_other_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "run-x.wandb"
    path.write_bytes(b"not a run")
    with pytest.raises(OfflineRunError, match="not a W&B run file"):
        read_records(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(OfflineRunError, match="no run-\\*.wandb"):
        load_offline_run(tmp_path / "empty")
