"""Compile the numba kernels once, before parallel jobs start.

numba's on-disk cache (``cache=True``) is not safe when several processes compile the same
function and write its cache at the same moment (numba/numba#4807): a job can then load a
half-written entry and fail, e.g. ``RuntimeError: In 'NRT_adapt_ndarray_to_python', 'descr'
is NULL`` at its test stage. A multirun whose jobs run in parallel processes therefore warms
the cache first (``bstdg.hydra_callbacks.NumbaCacheWarmup``): every job then loads the
compiled kernels instead of compiling them. numba keys its cache by CPU model and features, so
under SLURM this helps only where the compute nodes have the launching node's CPU. The warm-up
leaves torch's random state as it found it.
"""

from __future__ import annotations

import time

import torch

from bstdg.snn.backends import resolve_backend
from bstdg.snn.layers import SpikingNet
from bstdg.snn.losses import relative_target_mse


def _train_and_predict(binary: bool, batch: int) -> None:
    """One training step, one evaluation forward and (binary) the early exit of a tiny net:
    the kernel signatures of a training run (float32 times, int8 or float64 weights)."""
    torch.manual_seed(0)
    net = SpikingNet(12, 3, T=8, hidden=[6], binary=binary, threshold_init=[2.0, 2.0],
                     init_range=[[-1.0, 3.0], [-3.0, 3.0]], backend="numba")
    t_in = torch.randint(0, 9, (batch, 12)).float()
    out = net(t_in)
    relative_target_mse(out.out_times, torch.arange(batch) % 3, 8).backward()
    net.eval()
    with torch.no_grad():
        net(t_in)
        if binary:
            net.predict_early_exit(t_in)


def warm_up_numba() -> float:
    """Compile (or load from the cache) the numba kernels that a training run calls, on one
    thread and, when torch uses several, in parallel; returns the seconds it took (0 when
    numba is not installed: the ``auto`` backend is then torch)."""
    if resolve_backend("auto", torch.device("cpu")) != "numba":
        return 0.0
    from bstdg.snn.backends.numba.launch import PARALLEL_MIN_BATCH  # numba is optional

    start = time.perf_counter()
    batches = [1] + ([PARALLEL_MIN_BATCH] if torch.get_num_threads() > 1 else [])
    with torch.random.fork_rng(devices=[]):
        for binary in (True, False):
            for batch in batches:
                _train_and_predict(binary, batch)
    return time.perf_counter() - start
