"""Shared run plumbing of the entry points: seeding, config printing, metrics.json, cleanup."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from bstdg.utils.metrics_file import write_metrics
from bstdg.utils.model_size import model_size
from bstdg.utils.run_config import config_entries, hydra_job_entries
from bstdg.utils.run_info import load_average, run_metadata

TaskFn = Callable[[DictConfig, dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]


def output_dir(cfg: DictConfig) -> Path:
    return Path(cfg.paths.output_dir)


def without_hydra(cfg: DictConfig) -> DictConfig:
    """The config minus the ``hydra`` node (present in compose-based tests)."""
    return OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"])


@rank_zero_only
def print_config(cfg: DictConfig) -> None:
    """Print the resolved config tree (Hydra saves it to .hydra/ in the run dir)."""
    if cfg.get("extras", {}).get("print_config", True):
        print(OmegaConf.to_yaml(without_hydra(cfg), resolve=True))


def log_hyperparameters(loggers: list, cfg: DictConfig, meta: dict[str, Any]) -> None:
    """Send the resolved config and environment metadata to every logger."""
    params = OmegaConf.to_container(without_hydra(cfg), resolve=True, throw_on_missing=False)
    assert isinstance(params, dict)
    params["env"] = meta
    for logger in loggers:
        logger.log_hyperparams(params)


@rank_zero_only
def print_summary(cfg: DictConfig, metrics: dict[str, Any]) -> None:
    """Tell the user where the results are, with the headline test metrics."""
    out = output_dir(cfg)
    lines = [f"run dir:      {out}", f"metrics:      {out / 'metrics.json'}"]
    ckpts = out / "checkpoints"
    if ckpts.is_dir():
        lines.append(f"checkpoints:  {ckpts} (last.ckpt, best epoch_*.ckpt)")
    wandb_dir = out / "wandb"
    if wandb_dir.is_dir():
        lines.append(f"W&B (offline): {wandb_dir}  ->  wandb sync {wandb_dir}/offline-run-*")
    shown = [k for k in ("test/acc", "test/acc_ties", "test/hidden_spikes",
                         "test/decision_time", "time/infer_us_per_sample") if k in metrics]
    lines += [f"{k:<26}{float(metrics[k]):.4f}" for k in shown]
    print("\n".join(lines))


def finish_wandb() -> None:
    """Close a W&B run left open, so the next job of a multirun starts its own."""
    try:
        import wandb
    except ImportError:
        return
    if wandb.run is not None:
        wandb.finish()


def run_identity(cfg: DictConfig) -> dict[str, Any]:
    """What the run is: seed, experiment, task, hyperparameters, Hydra job, environment."""
    return {
        "seed": cfg.get("seed"),
        "experiment": cfg.get("run_name"),
        "task": cfg.get("task_name"),
        **config_entries(cfg),
        **hydra_job_entries(),
    }


@rank_zero_only
def write_running(cfg: DictConfig, record: dict[str, Any]) -> None:
    """Mark the run dir as in progress (``status: running``) before anything is built."""
    write_metrics(output_dir(cfg) / "metrics.json", {**record, **run_metadata()})


def _interrupted(objects: dict[str, Any]) -> bool:
    """Whether Lightning stopped the run on a keyboard interrupt (Ctrl+C)."""
    return bool(getattr(objects.get("trainer"), "interrupted", False))


def run_task(task: TaskFn, cfg: DictConfig) -> dict[str, Any]:
    """Run ``task`` and always write ``metrics.json`` (status, error, what was measured).

    A ``status: running`` file is written first and replaced atomically at the end.
    ``task`` registers what it builds in the ``objects`` dict it is given (``model``,
    ``trainer``, ``*_path``), so a failure still records what was measured before it. The
    failure is re-raised after the file is written and W&B is closed.
    """
    print_config(cfg)
    started = time.time()
    metrics: dict[str, Any] = {}
    objects: dict[str, Any] = {}
    record: dict[str, Any] = {
        "status": "running",
        **run_identity(cfg),
        "started_at": started,
        "load_avg_start": load_average(),
    }
    write_running(cfg, record)
    try:
        metrics, _ = task(cfg, objects)
        record["status"] = "interrupted" if _interrupted(objects) else "finished"
        return metrics
    except BaseException as err:
        stopped = isinstance(err, KeyboardInterrupt) or _interrupted(objects)
        record.update(
            status="interrupted" if stopped else "failed",
            error=f"{type(err).__name__}: {err}",
            traceback=traceback.format_exc(limit=20),
        )
        if objects.get("trainer") is not None:
            metrics = dict(objects["trainer"].callback_metrics)
        raise
    finally:
        trainer = objects.get("trainer")
        device = str(trainer.strategy.root_device) if trainer is not None else None
        model = objects.get("model")
        if trainer is None or trainer.is_global_zero:
            write_metrics(
                output_dir(cfg) / "metrics.json",
                {
                    **metrics,
                    **record,
                    **run_identity(cfg),
                    **run_metadata(device),
                    **(model_size(model) if model is not None else {}),
                    "load_avg_end": load_average(),
                    "wall_s": time.time() - started,
                    **{k: v for k, v in objects.items() if k.endswith("_path")},
                },
            )
        finish_wandb()
