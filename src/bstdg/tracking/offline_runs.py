"""Read an offline W&B run (``wandb/offline-run-*/run-*.wandb``) without syncing it.

The file is W&B's record log: a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then
32 KiB blocks of chunks, each with a 7-byte header (CRC-32, length, type: full / first /
middle / last); the chunks of one record concatenate to a ``wandb_internal_pb2.Record``.
wandb 0.31 ships no Python reader for it, so this module is one, for tests and for looking
at runs on a machine without network.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32768
CHUNK_HEADER = struct.Struct("<IHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


class OfflineRunError(ValueError):
    """The file is not a W&B run record log."""


def _chunks(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, payload) of every intact chunk; stops at a torn or corrupt one (a run still
    being written)."""
    pos = len(HEADER)
    while pos + CHUNK_HEADER.size <= len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK_HEADER.size:  # block trailer: zero padding
            pos += left
            continue
        crc, length, kind = CHUNK_HEADER.unpack_from(data, pos)
        if crc == length == kind == 0:
            pos += left
            continue
        payload = data[pos + CHUNK_HEADER.size: pos + CHUNK_HEADER.size + length]
        if len(payload) < length or zlib.crc32(payload, zlib.crc32(bytes([kind]))) != crc:
            return
        yield kind, payload
        pos += CHUNK_HEADER.size + length


def read_records(path: str | Path) -> list[Any]:
    """Every complete record (``wandb_internal_pb2.Record``) of a ``.wandb`` file."""
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    if not data.startswith(HEADER):
        raise OfflineRunError(f"{path} is not a W&B run file (no ':W&B' header)")
    records, parts = [], []
    for kind, payload in _chunks(data):
        if kind in (FULL, FIRST):
            parts = [payload]
        else:
            parts.append(payload)
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()  # type: ignore[attr-defined]
            record.ParseFromString(b"".join(parts))
            records.append(record)
            parts = []
    return records


def _set_nested(target: dict[str, Any], item: Any) -> None:
    keys = [item.key] if item.key else list(item.nested_key)
    for name in keys[:-1]:
        target = target.setdefault(name, {})
    target[keys[-1]] = json.loads(item.value_json)


@dataclass
class OfflineRun:
    """What a run file holds, decoded: identity, config, metric definitions, history,
    summary, artifacts and uploaded file paths."""

    path: Path
    run_id: str = ""
    name: str = ""
    group: str = ""
    job_type: str = ""
    project: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # name or glob -> MetricRecord
    history: list[dict[str, Any]] = field(default_factory=list)  # one dict per log call
    summary: dict[str, Any] = field(default_factory=dict)
    artifacts: list[Any] = field(default_factory=list)  # ArtifactRecord
    files: list[str] = field(default_factory=list)
    exit_code: int | None = None

    def history_keys(self) -> set[str]:
        """Top-level keys of every logged row (media keys without their ``/_type`` parts)."""
        return {key for row in self.history for key in row}

    def media_type(self, key: str) -> str | None:
        """W&B's ``_type`` of the last logged value of ``key`` (``image-file``,
        ``histogram``, ``table-file``, ...), or None."""
        for row in reversed(self.history):
            value = row.get(key)
            if isinstance(value, dict) and "_type" in value:
                return str(value["_type"])
        return None


def _apply(run: OfflineRun, record: Any) -> None:
    kind = record.WhichOneof("record_type")
    if kind == "run":
        r = record.run
        run.run_id, run.name, run.group = r.run_id, r.display_name, r.run_group
        run.job_type, run.project, run.tags = r.job_type, r.project, list(r.tags)
        for item in r.config.update:
            _set_nested(run.config, item)
    elif kind == "config":
        for item in record.config.update:
            _set_nested(run.config, item)
    elif kind == "metric":
        metric = record.metric
        run.metrics[metric.name or metric.glob_name] = metric
    elif kind == "history":
        row: dict[str, Any] = {}
        for item in record.history.item:
            _set_nested(row, item)
        run.history.append(row)
    elif kind == "summary":
        for item in record.summary.update:
            _set_nested(run.summary, item)
    elif kind == "artifact":
        run.artifacts.append(record.artifact)
    elif kind == "files":
        run.files += [f.path for f in record.files.files]
    elif kind == "exit":
        run.exit_code = int(record.exit.exit_code)


def run_file(path: str | Path) -> Path:
    """The ``.wandb`` file of ``path``: the file itself or an ``offline-run-*`` folder."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("run-*.wandb"))
        if not found:
            raise OfflineRunError(f"{path} holds no run-*.wandb file")
        return found[0]
    return path


def load_offline_run(path: str | Path) -> OfflineRun:
    """Decode one offline run (its folder or its ``.wandb`` file)."""
    file = run_file(path)
    run = OfflineRun(path=file)
    for record in read_records(file):
        _apply(run, record)
    return run


def find_offline_runs(root: str | Path) -> list[Path]:
    """Every ``offline-run-*`` folder under ``root`` (a run dir, a multirun dir, logs/)."""
    return sorted(p for p in Path(root).rglob("offline-run-*") if p.is_dir())
