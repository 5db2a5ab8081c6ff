"""The config a W&B run carries (issue 13 item 2)."""

from __future__ import annotations

from omegaconf import OmegaConf

from bstdg.tracking.logged_config import wandb_config


def _cfg():
    return OmegaConf.create({
        "run_name": "mnist_bstdg", "task_name": "train", "seed": 3, "tags": ["a"],
        "ckpt_path": None, "optimized_metric": "val/acc_best",
        "paths": {"data_dir": "/data", "output_dir": "/out"},
        "data": {"_target_": "bstdg.data.MNISTDataModule", "data_dir": "${paths.data_dir}",
                 "batch_size": 32, "num_workers": 4, "pin_memory": True, "seed": "${seed}"},
        "encoder": {"_target_": "bstdg.encoding.LatencyEncoder", "T": 64},
        "model": {"net": {"_target_": "bstdg.snn.SpikingNet", "_partial_": True,
                          "hidden": [600]}},
        "trainer": {"_target_": "pytorch_lightning.Trainer", "max_epochs": 5,
                    "default_root_dir": "/out", "enable_progress_bar": True,
                    "log_every_n_steps": 50, "max_steps": None},
        "callbacks": {"x": {"_target_": "y"}}, "logger": {"wandb": {}}, "extras": {},
    })


def test_hyperparameters_without_targets_paths_or_internals() -> None:
    config = wandb_config(_cfg(), job={
        "overrides": ["encoder.T=64", "paths.root_dir=/abs", "data.data_dir=rel"],
        "multirun_stamp": "stamp", "job_num": 2, "multirun_dir": "/abs/stamp",
        "choice/data": "mnist"}, env={"device": "cpu"})
    assert config["data"] == {"batch_size": 32, "seed": 3}
    assert config["encoder"] == {"T": 64}
    assert config["model"] == {"net": {"hidden": [600]}}
    assert config["trainer"] == {"max_epochs": 5}
    assert config["hydra"] == {"multirun_stamp": "stamp", "job_num": 2,
                               "overrides": ["encoder.T=64"], "choices": {"data": "mnist"}}
    assert config["env"] == {"device": "cpu"}
    assert {"paths", "callbacks", "logger", "extras", "ckpt_path", "derived"}.isdisjoint(config)
    assert (config["run_name"], config["seed"], config["tags"]) == ("mnist_bstdg", 3, ["a"])


def test_extra_nodes_are_added() -> None:
    config = wandb_config(_cfg(), extra={"evaluated": {"checkpoint": "last.ckpt"}})
    assert config["evaluated"] == {"checkpoint": "last.ckpt"}
    assert config["hydra"] == {"overrides": [], "choices": {}}
