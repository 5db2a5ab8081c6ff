"""ReuseFreedMemory / keep_freed_memory: a training step's freed buffers are reused, not
handed back to the kernel and faulted in again as fresh pages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from bstdg.lit import callbacks as callbacks_module
from bstdg.lit.callbacks import ReuseFreedMemory
from bstdg.utils import heap
from helpers.hydra_compose import compose_cfg
from helpers.tiny_fit import TinyModule, tiny_data, tiny_trainer

GLIBC = heap._glibc() is not None

# Allocate, touch and free an 8 MB block twice; print the minor page faults of the second
# allocation. glibc's default maps such a block on its own and unmaps it when freed, then
# serves the next one from fresh heap pages (about 500 faults here); kept, the second reuses
# the first's pages. Run in a subprocess: the allocator setting is process-wide and stays.
_SECOND_ALLOCATION_FAULTS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from bstdg.utils.heap import keep_freed_memory
    if sys.argv[1] == "keep":
        assert keep_freed_memory()
    def faults_of_one_block():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = np.ones(1 << 20)  # 8 MB, every page touched
        del block
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    faults_of_one_block()
    print(faults_of_one_block())
""")


def _second_allocation_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _SECOND_ALLOCATION_FAULTS, mode],
                         capture_output=True, text=True, check=True, timeout=120)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="the allocator setting is glibc's")
def test_a_freed_block_is_reused_without_fresh_pages() -> None:
    # a training step frees and reallocates its gradient buffers the same way (460-880 faults
    # per mnist_bstdg step with glibc's defaults, none kept: bstdg.utils.heap)
    assert _second_allocation_faults("keep") == 0


@pytest.mark.parametrize("kwargs", [{"mmap_threshold": -1}, {"trim_threshold": 2**31}])
def test_thresholds_must_be_byte_counts(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be a byte count in"):
        heap.keep_freed_memory(**kwargs)


class _RefusingLibc:
    @staticmethod
    def mallopt(param: int, value: Any) -> int:
        return 0


def test_a_threshold_glibc_refuses_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_glibc", _RefusingLibc)
    with pytest.raises(ValueError, match="glibc refused mmap_threshold=1048576"):
        heap.keep_freed_memory(mmap_threshold=1 << 20)


def test_another_c_library_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_glibc", lambda: None)
    assert heap.keep_freed_memory() is False


def test_the_callback_applies_its_thresholds_when_training_starts(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    calls: list[tuple[int, int]] = []

    def record(mmap_threshold: int, trim_threshold: int) -> bool:
        calls.append((mmap_threshold, trim_threshold))
        return True

    monkeypatch.setattr(callbacks_module, "keep_freed_memory", record)
    callback = ReuseFreedMemory(mmap_threshold=1 << 20, trim_threshold=4 << 20)
    tiny_trainer(tmp_path, callback).fit(TinyModule(), tiny_data())
    assert calls == [(1 << 20, 4 << 20)]
    assert callback.applied


def test_default_callbacks_keep_freed_memory(tmp_path) -> None:
    cfg = compose_cfg("train.yaml", ["experiment=mnist_bstdg"], tmp_path)
    assert cfg.callbacks.reuse_freed_memory._target_ == "bstdg.lit.callbacks.ReuseFreedMemory"
