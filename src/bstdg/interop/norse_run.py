"""Run a bstdg NIR graph (``nir_delays=shift``) in norse and read it as bstdg does.

norse (``pip install -e .[interop]``) loads the graph with ``norse.torch.from_nir``: Linear
nodes become ``torch.nn.Linear``, IF nodes ``IAFCell`` (V += I; spike and reset to 0 when
V > v_threshold), and its graph executor takes the recurrent ``inh{k}`` edges from the
previous step. :func:`run_in_norse` feeds the one-hot input spikes step by step for the
graph's ``run_steps`` and returns the output spike times in bstdg's clock, with the output
potentials V(t) = sum of the output layer's Linear outputs up to step t, read from the
executor's cache (the IF's own potential is reset at its spike), at the firing step and at
``v_end_step``, so that :func:`bstdg.runtime.decide` decides as bstdg does.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _meta_int(graph: Any, key: str) -> int:
    return int(np.asarray(graph.metadata[key]))


def run_in_norse(graph: Any, t_in: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output spike times (B, C) in [0, T], v_fire, v_end) of ``graph`` (a NIR graph
    written by bstdg-export without Delay nodes: ``nir_delays=shift``, or a net with delay 0)
    on input spike times ``t_in`` (B, N)."""
    import nir
    import norse.torch
    import torch

    if any(isinstance(node, nir.Delay) for node in graph.nodes.values()):
        raise ValueError("norse has no Delay node: export with nir_delays=shift "
                         "(bstdg-export ... nir_delays=shift)")
    T, n_layers = _meta_int(graph, "T"), len(np.asarray(graph.metadata["sizes"])) - 1
    steps, shift = _meta_int(graph, "run_steps"), _meta_int(graph, "output_time_shift")
    last, v_end_step = _meta_int(graph, "last_output_time"), _meta_int(graph, "v_end_step")
    if v_end_step >= steps:
        raise ValueError(
            f"the graph decides a silent sample by the potential at step {v_end_step}, after "
            f"the {steps} simulated steps (fallback_offset < 1 + window_trim): norse would run "
            f"hidden neurons where bstdg simulates nothing; run it with bstdg.runtime")
    out_fc = f"fc{n_layers - 1}"
    module = norse.torch.from_nir(graph)
    x = torch.as_tensor(np.asarray(t_in))
    batch, n_out = x.shape[0], int(np.asarray(graph.metadata["sizes"])[-1])
    times = torch.full((batch, n_out), T, dtype=torch.long)
    v_fire = torch.zeros(batch, n_out)
    v_end = torch.zeros(batch, n_out)
    v_now = torch.zeros(batch, n_out)
    state = None
    with torch.no_grad():
        for step in range(steps):
            z, state = module((x == step).float(), state)
            v_now = v_now + state.cache[out_fc]  # V(step): every input so far, no reset
            first = (z > 0) & (times == T) & (step + shift <= last)
            times = torch.where(first, step + shift, times)
            v_fire = torch.where(first, v_now, v_fire)
            if step == v_end_step:
                v_end = v_now
    silent = times == T
    v_fire = torch.where(silent, v_end, v_fire)
    return times.numpy(), v_fire.double().numpy(), v_end.double().numpy()
