"""The online (per-sample SGD) training step of ``SpikingClassifier(online=True)``.

With ``model.online: true`` the module runs Lightning's manual optimisation: each training
batch of B samples is B SGD steps of one sample each, done by one kernel call
(:func:`bstdg.snn.online.online_sgd_steps`), equal to B batch-1 steps of the automatic path
(``tests/snn/test_online.py``). The optimiser stays configured (its settings give the
kernel's rates, its state goes into checkpoints) and is stepped once per batch with no
gradients, which changes no weight and counts the batch in ``global_step``; validation,
metrics, policies and checkpoints are the automatic path's.
"""

from __future__ import annotations

from typing import Any

import torch

from bstdg.snn.layers import NetOutput


def online_settings(module: Any) -> tuple[list[float], float]:
    """(lr per layer, weight decay) of the module's optimiser, refusing what the kernel
    cannot do: another optimiser than SGD, momentum, nesterov, maximize, weight decays that
    differ between layers, a learning-rate schedule, gradient clipping or accumulation."""
    trainer = module.trainer
    optimizer = module.optimizers().optimizer
    problems = []
    if type(optimizer) is not torch.optim.SGD:
        problems.append(f"optimizer {type(optimizer).__name__} (only torch.optim.SGD)")
    if module.lr_schedulers() is not None:
        problems.append("a learning-rate scheduler (model.scheduler must be null)")
    if trainer.accumulate_grad_batches != 1 or trainer.gradient_clip_val:
        problems.append("gradient accumulation or clipping")
    lrs, decays = [], set()
    for layer in module.net.layers:
        group = next(g for g in optimizer.param_groups
                     if any(p is layer.weight for p in g["params"]))
        if group.get("momentum", 0) or group.get("nesterov") or group.get("maximize"):
            problems.append("momentum, nesterov or maximize")
        lrs.append(float(group["lr"]))
        decays.add(float(group.get("weight_decay", 0.0)))
    if len(decays) > 1:
        problems.append("weight decays that differ between layers")
    if problems:
        raise ValueError("model.online=true cannot train with " + "; ".join(problems))
    return lrs, decays.pop()


def check_online_module(module: Any) -> None:
    """Raise before training if the net, loss or optimiser settings are not the kernel's."""
    from bstdg.snn.online import check_online  # numba: imported when online is on

    check_online(module.net, module.loss_fn)
    online_settings(module)


def online_training_step(module: Any, batch: Any) -> dict[str, Any]:
    """B per-sample SGD steps on the batch; the metrics of each sample's forward (before
    its update, as the batch-1 path records them) go to the module's training metrics."""
    from bstdg.snn.online import online_sgd_steps

    x, y = batch
    lrs, weight_decay = online_settings(module)
    t_in = module.encoder(x)
    rec = online_sgd_steps(module.net, t_in, y, module.loss_fn, lrs, weight_decay)
    module.optimizers().step()  # no gradients: counts the batch, moves no weight
    out = NetOutput(list(rec.times), rec.v_fire, rec.v_end)
    return module.record_step("train", t_in, out, y, rec.loss.mean().float())
