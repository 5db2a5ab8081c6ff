"""The numba backend: the event-driven CPU kernels of the single-spike IF layer and of whole
nets, and the backend object that runs them (``backend.BACKEND``, registered as ``numba``).

Modules, each importing only those below it:

* ``backend`` -- :class:`~bstdg.snn.backends.numba.backend.NumbaBackend` and the plain
  functions ``forward_numba`` / ``grads_numba`` / ``predict_early_exit_numba``;
* ``net`` -- the whole net as one autograd Function (the fused training path);
* ``launch`` -- numpy views of torch tensors, thread counts and kernel launches;
* ``net_kernels`` -- the fused-net kernels;
* ``layer_kernels`` and ``early_exit`` -- the kernels of one layer and of the early exit;
* ``primitives`` -- containers, the per-sample sort and the per-bin integration step;
* ``target`` -- the CPU target the kernels compile for.

Importing the package sets numba's threading layer (OpenMP, TBB, workqueue, unless
NUMBA_THREADING_LAYER says otherwise) and, on AVX-512 CPUs, its compile target (see
``target``), before any kernel compiles.
"""

from __future__ import annotations

import os

import numba

from bstdg.snn.backends.numba.target import use_wide_vectors

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]
use_wide_vectors()
