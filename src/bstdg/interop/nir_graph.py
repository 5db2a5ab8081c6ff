"""An exported network as a NIR graph that NIR consumers run with bstdg's spike times.

Per layer k: ``fc{k}`` (Linear, the ±1 forward weights) -> ``if{k}`` (IF, r = 1, the
thresholds, v_reset = 0), and the single-spike rule in graph terms: ``inh{k}``, a recurrent
Linear from ``if{k}`` back into it with -M_j on the diagonal, M_j = sum_i |w_ji| + |theta_j| + 1,
so that after its first spike (and reset) a neuron can never reach its threshold again. A
consumer takes a recurrent edge from the previous step, as NIR's graph semantics say.

The spike's output delay (``delay`` steps after the crossing) is either an explicit
``delay{k}`` node after every IF (``delays="node"``, exact for a consumer that runs NIR's
Delay), or left out (``delays="shift"``) for consumers without Delay (norse): in a
network whose every layer has the same delay d and no negative threshold (a neuron then
crosses only after its inputs, so its crossing moves with them), dropping the delays only
moves the output spikes earlier by L d (L layers). The graph's metadata then says how to
run and read it: ``run_steps`` = T - window_trim - (L - 1) d steps on the one-hot input
spikes; an output spike at consumer step s is at bstdg time s + ``output_time_shift``
(L d) and counts when that is <= T - 1 - window_trim; the output potential that decides a
silent sample is the one at consumer step ``v_end_step``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

DELAY_MODES = ("node", "shift")

SEMANTICS = (
    "Single-spike non-leaky integrate-and-fire network in discrete time (steps 0..T-1, one "
    "step per NIR time unit). Inputs are single spikes (time-to-first-spike code; one spike "
    "or none per input). Synapses are instantaneous: an input spike at step t adds its weight "
    "(+1 or -1) to V from step t on, V_j(t) = sum_i w_ji [t_i <= t]; no leak, no bias. A "
    "neuron fires at most once: t_j = min{t + delay : V_j(t) > v_threshold_j (strict), "
    "t + delay <= T - 1 - window_trim}, else it stays silent. In the graph, the recurrent "
    "inh{k} edge (taken from the previous step) holds a neuron below threshold after its "
    "first spike, and the output delay is a Delay node (delays=node) or a shift of the "
    "output times (delays=shift: run run_steps steps, add output_time_shift to the output "
    "spike steps). Decision: the earliest output spike wins; ties go to the larger potential "
    "at the firing step, then to the lower index; with no output spike the fallback decides "
    "(max_potential: argmax of V_out(T - fallback_offset))."
)


def inhibition_weights(w: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """The (N, N) recurrent weights that keep a fired neuron below threshold:
    -(sum_i |w_ji| + |theta_j| + 1) on the diagonal."""
    strength = np.abs(w).sum(axis=1) + np.abs(theta.astype(np.float64)) + 1.0
    return np.diag(-strength).astype(np.float32)


def schedule(T: int, delay: int, window_trim: int, n_layers: int, fallback_offset: int,
             delays: str) -> dict[str, int]:
    """How a consumer runs the graph: steps, the output time shift and the step of the
    potential that decides a silent sample (consumer steps; see the module docstring)."""
    lag = delay * (n_layers - 1) if delays == "shift" else 0
    shift = delay * n_layers if delays == "shift" else 0
    return {"run_steps": T - window_trim - lag, "output_time_shift": shift,
            "last_output_time": T - 1 - window_trim,
            "v_end_step": T - fallback_offset - lag}


def nir_graph(exported: Any, delays: str = "node") -> Any:
    """The NIR graph of a :class:`bstdg.runtime.ExportedModel` (see the module docstring)."""
    import nir

    if delays not in DELAY_MODES:
        raise ValueError(f"unknown nir_delays {delays!r}; valid: {', '.join(DELAY_MODES)}")
    if delays == "shift" and exported.delay and any((t < 0).any() for t in exported.thresholds):
        raise ValueError(
            "nir_delays=shift needs thresholds >= 0: a neuron with a negative threshold fires "
            "at step 0 without input, and the time shift would move that spike; export with "
            "nir_delays=node (Delay nodes) instead")
    sizes = exported.sizes
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([sizes[0]])})}
    edges: list[tuple[str, str]] = []
    previous = "input"
    for k, (w, theta) in enumerate(zip(exported.weights, exported.thresholds, strict=True)):
        n_out = w.shape[0]
        nodes[f"fc{k}"] = nir.Linear(weight=w.astype(np.float32),
                                     metadata={"binary": 1, "sign_of_zero": 1})
        nodes[f"if{k}"] = nir.IF(r=np.ones(n_out, np.float32), v_threshold=theta.copy(),
                                 v_reset=np.zeros(n_out, np.float32),
                                 metadata={"single_spike": 1, "strict_threshold": 1})
        nodes[f"inh{k}"] = nir.Linear(weight=inhibition_weights(w, theta),
                                      metadata={"role": "fire once: recurrent, previous step"})
        edges += [(previous, f"fc{k}"), (f"fc{k}", f"if{k}"), (f"if{k}", f"inh{k}"),
                  (f"inh{k}", f"if{k}")]
        previous = f"if{k}"
        if delays == "node" and exported.delay:
            nodes[f"delay{k}"] = nir.Delay(delay=np.full(n_out, exported.delay, np.float32))
            edges.append((previous, f"delay{k}"))
            previous = f"delay{k}"
    nodes["output"] = nir.Output(output_type={"output": np.array([sizes[-1]])})
    edges.append((previous, "output"))
    meta = exported.metadata
    graph_meta = _nir_value({
        "source": "bstdg-export", "semantics": SEMANTICS, "T": exported.T,
        "delay": exported.delay, "window_trim": exported.window_trim, "sizes": sizes,
        "delays": delays,
        **schedule(exported.T, exported.delay, exported.window_trim, len(exported.weights),
                   exported.fallback_offset, delays),
        "decision": meta["decision"], "encoder": meta["encoder"],
        "checkpoint_sha256": meta["source"]["checkpoint_sha256"],
        "versions": meta["versions"],
    })
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta)


def _nir_value(value: Any) -> Any:
    """Metadata values NIR's HDF5 writer can store (None dropped, lists of numbers as
    arrays, nested dicts kept)."""
    if isinstance(value, Mapping):
        return {str(k): _nir_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return np.asarray(value)
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value
