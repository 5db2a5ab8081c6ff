"""Shared run plumbing of the entry points: config printing, metrics.json, exit status,
cleanup."""

from __future__ import annotations

import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.trainer.states import TrainerStatus
from pytorch_lightning.utilities import rank_zero_only
from pytorch_lightning.utilities.exceptions import SIGTERMException

from bstdg.utils.checks import ConfigError
from bstdg.utils.config_tree import print_config_tree
from bstdg.utils.metrics_file import write_metrics
from bstdg.utils.model_size import model_size
from bstdg.utils.quiet import quiet_known_noise
from bstdg.utils.run_config import config_entries, hydra_job_entries
from bstdg.utils.run_info import load_average, run_metadata

TaskFn = Callable[[DictConfig, dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]

# The config folder of the entry points (bstdg-train, bstdg-eval, bstdg-export).
CONFIG_DIR = str(Path(__file__).resolve().parents[3] / "conf")

# Exit status of a run stopped by a signal (128 + signal number, as a shell reports it).
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143: SLURM pre-emption, `kill`, `timeout`
EXIT_SIGINT = 128 + signal.SIGINT  # 130: Ctrl+C


def config_section(key: str) -> str:
    """Top-level config section of a key: ``model.net.hidden`` / ``model/net`` -> ``model``."""
    return re.split(r"[./@]", key)[0]


def override_section(arg: str) -> str | None:
    """Section a command-line override sets (``+model.net.hidden=[9]`` -> ``model``), or
    None for a flag or an argument without ``=``."""
    if arg.startswith("-") or "=" not in arg:
        return None
    return config_section(arg.split("=", 1)[0].lstrip("+~"))


def output_dir(cfg: DictConfig) -> Path:
    return Path(cfg.paths.output_dir)


def without_hydra(cfg: DictConfig) -> DictConfig:
    """The config minus the ``hydra`` node (present in compose-based tests)."""
    return OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"])


def extras(cfg: DictConfig) -> DictConfig:
    """The ``extras`` section (print_config, ignore_warnings), empty when absent."""
    return cfg.get("extras") or OmegaConf.create({})


@rank_zero_only
def print_config(cfg: DictConfig) -> None:
    """Print the resolved config as a tree (Hydra saves it to .hydra/ in the run dir)."""
    if extras(cfg).get("print_config", True):
        print_config_tree(cfg)


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


def finish_wandb(exit_code: int = 0) -> None:
    """Close a W&B run left open, so the next job of a multirun starts its own; a run that
    did not finish is closed with a non-zero ``exit_code`` (W&B marks it failed)."""
    try:
        import wandb
    except ImportError:
        return
    if wandb.run is not None:
        wandb.finish(exit_code=exit_code)


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


def stop_reason(objects: dict[str, Any]) -> str | None:
    """Why training stopped itself (a training policy's ``stop_reason``), or None."""
    for callback in getattr(objects.get("trainer"), "callbacks", None) or []:
        reason = getattr(callback, "stop_reason", None)
        if reason:
            return str(reason)
    return None


def _last_checkpoint(cfg: DictConfig, objects: dict[str, Any]) -> str | None:
    """The run's ``last.ckpt`` when one was written (to resume an interrupted run from)."""
    callback = getattr(objects.get("trainer"), "checkpoint_callback", None)
    path = getattr(callback, "last_model_path", "") or ""
    if path and Path(path).is_file():
        return str(path)
    try:
        fallback = output_dir(cfg) / "checkpoints" / "last.ckpt"
    except Exception:
        return None
    return str(fallback) if fallback.is_file() else None


class _Sigterm:
    """SIGTERM handler of a run: inside Lightning's fit/test loops (which stop gracefully at
    the end of the batch and raise ``SIGTERMException``) it only notes the signal; anywhere
    else it raises ``SIGTERMException`` at once. Either way the run ends ``interrupted``
    with exit status 143."""

    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects
        self.received = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.received = True
        trainer = self.objects.get("trainer")
        if trainer is not None and trainer.state.status == TrainerStatus.RUNNING:
            return
        raise SIGTERMException()


@contextmanager
def _sigterm_handler(handler: _Sigterm) -> Iterator[None]:
    """Install ``handler`` for SIGTERM while the run lasts (main thread only)."""
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _outcome(
    err: BaseException, objects: dict[str, Any], sigterm: _Sigterm
) -> tuple[str, str, int]:
    """(status, error text, exit status) of a run that raised ``err``."""
    trainer = objects.get("trainer")
    if (isinstance(err, SIGTERMException) or sigterm.received
            or getattr(trainer, "received_sigterm", False)):
        return ("interrupted", "SIGTERM: the run was terminated (e.g. pre-empted by SLURM, "
                "`kill` or `timeout`); resume it with ckpt_path=<last_ckpt_path>", EXIT_SIGTERM)
    if isinstance(err, (KeyboardInterrupt, SystemExit)) and (
            isinstance(err, KeyboardInterrupt) or _interrupted(objects)):
        return ("interrupted", "KeyboardInterrupt: the run was stopped by Ctrl+C (SIGINT); "
                "resume it with ckpt_path=<last_ckpt_path>", EXIT_SIGINT)
    code = err.code if isinstance(err, SystemExit) else 1
    return "failed", f"{type(err).__name__}: {err}", code if isinstance(code, int) and code else 1


def run_task(task: TaskFn, cfg: DictConfig, outcome: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """Run ``task`` and always write ``metrics.json`` (status, error, what was measured).

    A ``status: running`` file is written first and replaced atomically at the end with
    ``finished``, ``stopped`` (a training policy stopped training, ``error`` says why:
    :func:`stop_reason`),
    ``failed`` or ``interrupted`` (SIGTERM or Ctrl+C; ``last_ckpt_path`` to resume from).
    ``task`` registers what it builds in the ``objects`` dict it is given (``model``,
    ``trainer``, ``*_path``), so a failure still records what was measured before it. The
    failure is re-raised after the file is written and W&B is closed with a non-zero exit
    code; a run interrupted inside Lightning raises ``SystemExit`` 143 (SIGTERM) or 130
    (Ctrl+C; a KeyboardInterrupt outside Lightning is re-raised as it is). The
    final status and error are also put into ``outcome`` when one is given.
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
    sigterm = _Sigterm(objects)
    exit_code = 1
    try:
        with _sigterm_handler(sigterm), quiet_known_noise(
                bool(extras(cfg).get("ignore_warnings", False))):
            try:
                metrics, _ = task(cfg, objects)
            except BaseException as err:
                status, error, exit_code = _outcome(err, objects, sigterm)
                record.update(status=status, error=error,
                              traceback=traceback.format_exc(limit=20))
                if objects.get("trainer") is not None:
                    metrics = dict(objects["trainer"].callback_metrics)
                if status == "interrupted" and not isinstance(err, KeyboardInterrupt):
                    # Lightning turns Ctrl+C into exit status 1 and SIGTERM into 0
                    raise SystemExit(exit_code) from err
                raise  # a KeyboardInterrupt exits 130 by itself
        reason = stop_reason(objects)
        if reason:
            record.update(status="stopped", error=reason)
        else:
            record["status"] = "interrupted" if _interrupted(objects) else "finished"
            exit_code = 0 if record["status"] == "finished" else EXIT_SIGINT
        return metrics
    finally:
        trainer = objects.get("trainer")
        device = str(trainer.strategy.root_device) if trainer is not None else None
        model = objects.get("model")
        paths = {k: v for k, v in objects.items() if k.endswith("_path")}
        if record["status"] != "finished" and not paths.get("last_ckpt_path"):
            last = _last_checkpoint(cfg, objects)
            if last is not None:
                paths["last_ckpt_path"] = last
        if outcome is not None:
            outcome.update(status=record["status"], error=record.get("error"),
                           exit_code=0 if record["status"] == "finished" else exit_code)
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
                    **paths,
                },
            )
        finish_wandb(0 if record["status"] == "finished" else exit_code)


def single_run() -> bool:
    """Whether this process runs one job (not a multirun, whose sweeper must see failures
    as failed jobs rather than as an exit of the whole sweep)."""
    return not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN


@contextmanager
def config_errors_exit(name: str) -> Iterator[None]:
    """In a single run, a :class:`ConfigError` raised inside exits with ``name: error: ...``
    and no traceback; in a multirun it propagates (the sweeper records a failed job)."""
    try:
        yield
    except ConfigError as err:
        if not single_run():
            raise
        raise SystemExit(f"{name}: error: {err}") from None


def run_entry_point(name: str, task: TaskFn, cfg: DictConfig) -> dict[str, Any]:
    """``run_task`` for a console script: in a single run, a config problem is printed
    without a traceback and a run that did not finish exits non-zero (1, or 143 / 130
    for SIGTERM / Ctrl+C)."""
    outcome: dict[str, Any] = {}
    with config_errors_exit(name):
        metrics = run_task(task, cfg, outcome)
    print_summary(cfg, metrics)
    if outcome.get("status") == "stopped":
        print(f"{name}: {outcome.get('error')}", file=sys.stderr)
        if single_run():
            raise SystemExit(1)
    return metrics
