"""Caltech 101 Face/Motorbike: greyscale JPEG folders, optional DoG ON/OFF, seeded splits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from bstdg.data.base import ArrayDataset, SplitDataModule, ValSize
from bstdg.data.dog import dog_on_off
from bstdg.data.errors import DatasetNotFoundError, InvalidDataConfigError, corrupt, not_found

HOW_TO_GET = (
    "Get Caltech 101 from https://data.caltech.edu/records/mzrjq-6wc02 and copy its "
    "101_ObjectCategories/{Faces,Motorbikes} folders to "
    "<data_dir>/caltech101/101_ObjectCategories/."
)
DOG_FILTERS = ("none", "on_off")
SPLITS = ("random", "sdnn")
_SUFFIXES = {".jpg", ".jpeg"}


def load_image(path: Path, size_hw: tuple[int, int]) -> np.ndarray:
    """Decode one image to greyscale uint8 of shape (H, W) (bilinear resize)."""
    try:
        with Image.open(path) as img:
            grey = img.convert("L").resize((size_hw[1], size_hw[0]), Image.BILINEAR)
            return np.asarray(grey, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise corrupt(path, f"unreadable JPEG ({exc})") from exc


def _check_resize(resize: Sequence[int]) -> tuple[int, int]:
    ok = (
        isinstance(resize, Sequence)
        and not isinstance(resize, str)
        and len(resize) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in resize)
    )
    if not ok:
        raise InvalidDataConfigError(
            f"resize={resize!r} is invalid: give 2 positive ints [H, W], e.g. [160, 250]."
        )
    return int(resize[0]), int(resize[1])


class CaltechFaceMotorbikeDataModule(SplitDataModule):
    """Caltech 101 classes as uint8 (B, H*W) (or (B, 2*H*W) with dog_filter='on_off') batches.

    split='random': per class, `train_per_class` images drawn with `seed` train, the rest test.
    split='sdnn': the lists in caltech101/splits/sdnn_python/{train,test}.txt.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        val_size: ValSize = 0.1,
        seed: int = 0,
        classes: Sequence[str] = ("Faces", "Motorbikes"),
        resize: Sequence[int] = (160, 250),
        dog_filter: Literal["none", "on_off"] = "none",
        dog_sigmas: Sequence[float] = (1.0, 2.0),
        dog_size: int = 7,
        train_per_class: int = 200,
        split: Literal["random", "sdnn"] = "random",
        sampling: str = "permutation",
        drop_last: bool = False,
        augment_shift: int = 0,
    ) -> None:
        super().__init__(data_dir, batch_size, num_workers, pin_memory, val_size, seed,
                         sampling, drop_last, augment_shift)
        self.size_hw = _check_resize(resize)
        if dog_filter not in DOG_FILTERS:
            raise InvalidDataConfigError(
                f"dog_filter={dog_filter!r} is invalid: use one of {list(DOG_FILTERS)}."
            )
        if split not in SPLITS:
            raise InvalidDataConfigError(f"split={split!r} is invalid: use one of {list(SPLITS)}.")
        classes = [str(c) for c in classes]
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise InvalidDataConfigError(
                f"classes={classes!r} is invalid: give at least 2 distinct class folder names."
            )
        if isinstance(train_per_class, bool) or not isinstance(train_per_class, int):
            raise InvalidDataConfigError(f"train_per_class={train_per_class!r} must be an int.")
        if train_per_class < 1:
            raise InvalidDataConfigError(
                f"train_per_class={train_per_class} is invalid: it must be >= 1."
            )
        if len(dog_sigmas) != 2 or not 0 < dog_sigmas[0] < dog_sigmas[1]:
            raise InvalidDataConfigError(
                f"dog_sigmas={list(dog_sigmas)} is invalid: give [s1, s2] with 0 < s1 < s2."
            )
        if dog_size < 1 or dog_size % 2 == 0:
            raise InvalidDataConfigError(f"dog_size={dog_size} is invalid: use an odd int >= 1.")
        self.classes = classes
        self.dog_filter = dog_filter
        self.dog_sigmas = (float(dog_sigmas[0]), float(dog_sigmas[1]))
        self.dog_size = dog_size
        self.train_per_class = train_per_class
        self.split = split
        self.name = "caltech_face_motorbike"
        self.n_classes = len(classes)
        channels = 2 if dog_filter == "on_off" else 1
        self.n_inputs = channels * self.size_hw[0] * self.size_hw[1]
        self.image_shape = (channels, *self.size_hw)

    @property
    def image_root(self) -> Path:
        """The 101_ObjectCategories folder."""
        return self.root / "caltech101" / "101_ObjectCategories"

    def _class_files(self) -> list[list[Path]]:
        root = self.image_root
        if not root.is_dir():
            raise not_found(root, "Caltech 101", HOW_TO_GET)
        available = sorted(p.name for p in root.iterdir() if p.is_dir())
        files = []
        for name in self.classes:
            folder = root / name
            if not folder.is_dir():
                raise InvalidDataConfigError(
                    f"classes contains unknown class folder {name!r}: '{folder}' does not exist. "
                    f"Folders available under '{root}': {available}."
                )
            # hidden files (macOS "._*.jpg" resource forks, ".DS_Store") are not images
            found = sorted(p for p in folder.iterdir()
                           if p.suffix.lower() in _SUFFIXES and not p.name.startswith("."))
            if not found:
                raise not_found(folder / "*.jpg", "Caltech 101", HOW_TO_GET)
            files.append(found)
        return files

    def _random_split(self, files: list[list[Path]]) -> tuple[list, list]:
        gen = torch.Generator().manual_seed(self.seed)
        train, test = [], []
        for label, class_files in enumerate(files):
            n = len(class_files)
            if n < 2:
                raise InvalidDataConfigError(
                    f"class {self.classes[label]!r} has {n} image(s) in "
                    f"'{self.image_root / self.classes[label]}': a random split needs at least "
                    f"2 per class (one to train on, one to test); add images or choose other "
                    f"classes."
                )
            if self.train_per_class >= n:
                raise InvalidDataConfigError(
                    f"train_per_class={self.train_per_class} is too large: class "
                    f"{self.classes[label]!r} has {n} images; use 1..{n - 1} so that its test "
                    f"part is not empty."
                )
            perm = torch.randperm(n, generator=gen).tolist()
            train += [(class_files[i], label) for i in sorted(perm[: self.train_per_class])]
            test += [(class_files[i], label) for i in sorted(perm[self.train_per_class :])]
        return train, test

    def _list_split(self, files: list[list[Path]]) -> tuple[list, list]:
        split_dir = self.image_root.parent / "splits" / "sdnn_python"
        label_of = {p: label for label, class_files in enumerate(files) for p in class_files}
        parts = []
        for part in ("train", "test"):
            list_file = split_dir / f"{part}.txt"
            if not list_file.is_file():
                raise DatasetNotFoundError(
                    f"split='sdnn' needs the list file '{list_file}', which does not exist "
                    f"(BSTDG_DATA_DIR / data_dir points at '{self.root}'). Use split='random' "
                    f"or copy caltech101/splits/sdnn_python/ from the shared data folder."
                )
            entries = []
            for line in list_file.read_text().split():
                path = self.image_root / line
                if path.parent.name not in self.classes:
                    continue
                if path not in label_of:
                    raise not_found(path, "Caltech 101", f"It is listed in '{list_file}'.")
                entries.append((path, label_of[path]))
            parts.append(entries)
        return parts[0], parts[1]

    def _decode(self, entries: list[tuple[Path, int]]) -> ArrayDataset:
        h, w = self.size_hw
        images = np.empty((len(entries), h, w), dtype=np.uint8)
        for i, (path, _) in enumerate(entries):
            images[i] = load_image(path, self.size_hw)
        if self.dog_filter == "on_off":
            images = dog_on_off(images, *self.dog_sigmas, self.dog_size)
        labels = np.array([label for _, label in entries], dtype=np.int64)
        return ArrayDataset(images.reshape(len(entries), -1), labels)

    def _load(self) -> tuple[Dataset, Dataset]:
        files = self._class_files()
        split = self._random_split if self.split == "random" else self._list_split
        train, test = split(files)
        return self._decode(train), self._decode(test)
