"""Offline data layer: dataset readers and LightningDataModules."""

from bstdg.data.caltech import CaltechFaceMotorbikeDataModule
from bstdg.data.errors import CorruptDatasetError, DatasetNotFoundError, InvalidDataConfigError
from bstdg.data.mnist import MNISTDataModule
from bstdg.data.paths import resolve_data_dir
from bstdg.data.shd import SHDDataModule
from bstdg.data.synthetic import SyntheticDataModule

__all__ = [
    "CaltechFaceMotorbikeDataModule",
    "CorruptDatasetError",
    "DatasetNotFoundError",
    "InvalidDataConfigError",
    "MNISTDataModule",
    "SHDDataModule",
    "SyntheticDataModule",
    "resolve_data_dir",
]
