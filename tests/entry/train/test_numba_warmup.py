"""The multirun warm-up compiles the numba kernels in the launching process, only for
launchers whose jobs run in other processes, and never fails the sweep."""

from __future__ import annotations

import logging

import numba  # noqa: F401  (the warm-up is a no-op without it: these tests need it)
import pytest
import torch
from omegaconf import OmegaConf

from bstdg import hydra_callbacks
from bstdg.hydra_callbacks import NumbaCacheWarmup
from bstdg.snn.backends.numba import early_exit, layer_kernels
from bstdg.snn.warmup import warm_up_numba

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
BASIC = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def _config(launcher: str):
    return OmegaConf.create({"hydra": {"launcher": {"_target_": launcher}}})


def test_warm_up_compiles_the_training_signatures() -> None:
    assert warm_up_numba() > 0
    # float32 spike times into int8 (+-1) and float64 (real) weights, as a training run
    forward = {(str(sig[0].dtype), str(sig[1].dtype))
               for sig in layer_kernels.forward_rows.signatures}
    assert {("float32", "int8"), ("float32", "float64")} <= forward, forward
    assert layer_kernels.grads_rows.signatures and early_exit.predict_early_exit_rows.signatures


@pytest.mark.parametrize("launcher, called", [(JOBLIB, True), (BASIC, False)])
def test_callback_warms_up_for_parallel_launchers_only(
    monkeypatch: pytest.MonkeyPatch, launcher: str, called: bool
) -> None:
    calls: list[int] = []
    monkeypatch.setattr("bstdg.snn.warmup.warm_up_numba", lambda: calls.append(1) or 0.0)
    NumbaCacheWarmup().on_multirun_start(_config(launcher))
    NumbaCacheWarmup(enabled=False).on_multirun_start(_config(JOBLIB))
    assert calls == ([1] if called else [])


def test_a_failed_warm_up_is_a_warning(monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> float:
        raise OSError("read-only cache directory")

    monkeypatch.setattr("bstdg.snn.warmup.warm_up_numba", broken)
    with caplog.at_level(logging.WARNING, logger=hydra_callbacks.__name__):
        NumbaCacheWarmup().on_multirun_start(_config(JOBLIB))
    assert "numba cache warm-up skipped: OSError: read-only cache directory" in caplog.text


def test_warm_up_leaves_the_random_state_alone() -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    warm_up_numba()
    assert torch.equal(torch.get_rng_state(), state)
