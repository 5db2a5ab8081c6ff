"""Exceptions raised by the data layer, with one-paragraph, self-explaining messages."""

from __future__ import annotations

from pathlib import Path

ENV_VAR = "BSTDG_DATA_DIR"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file or folder is missing where it was looked for."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but cannot be read or has the wrong content."""


class InvalidDataConfigError(ValueError):
    """A DataModule option is outside its valid range."""


def not_found(path: Path | str, dataset: str, how_to_get: str) -> DatasetNotFoundError:
    """Build a DatasetNotFoundError naming the path, the env variable and how to get the files."""
    return DatasetNotFoundError(
        f"{dataset} data not found: looked for '{path}', which does not exist. "
        f"The data directory comes from the `data_dir` option (config `paths.data_dir`), "
        f"which defaults to the environment variable {ENV_VAR} or <repo>/data; point "
        f"{ENV_VAR} at a folder with the torchvision-style layout. {how_to_get}"
    )


def corrupt(path: Path | str, problem: str) -> CorruptDatasetError:
    """Build a CorruptDatasetError naming the file and what is wrong with it."""
    return CorruptDatasetError(
        f"Corrupt dataset file '{path}': {problem}. Delete it and obtain a fresh copy "
        f"(see `python -m bstdg.data.download --help`)."
    )
