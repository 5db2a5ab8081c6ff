"""Optional online download of the datasets, with checksum verification.

Never called by the DataModules or the tests. Usage::

    python -m bstdg.data.download {mnist,fmnist,shd,caltech} --to DIR
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import shutil
import sys
import urllib.request
from pathlib import Path

from bstdg.data.caltech import HOW_TO_GET as CALTECH_HOW_TO_GET
from bstdg.data.errors import corrupt
from bstdg.data.mnist import SHA256, URLS

SHD_URL = "https://zenkelab.org/datasets/"
SHD_MD5 = {
    "shd_train.h5.gz": "d47c9825dee33347913e8ce0f2be08b0",
    "shd_test.h5.gz": "3062a80ec0c5719404d5b02e166543b1",
    "shd_train.h5": "8e9877c85f29a28dd353ea6a54402667",
    "shd_test.h5": "207ad1295a0ab611e22d1734989c254e",
}


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file with `algorithm` (e.g. 'sha256', 'md5')."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DownloadError(OSError):
    """A file could not be fetched; the message says what to copy where instead."""


def _new_folders(path: Path) -> list[Path]:
    """``path`` and its parents that do not exist yet, deepest first."""
    return [p for p in (path, *path.parents) if not p.exists()]


def fetch(url: str, dest: Path, checksum: str, algorithm: str = "sha256") -> Path:
    """Download `url` to `dest` unless a file with the right checksum is already there.

    A failed download leaves nothing behind (no partial file, no new empty folder) and raises
    :class:`DownloadError` naming the URL, the file to copy there by hand and
    ``BSTDG_DATA_DIR``."""
    if dest.is_file() and file_digest(dest, algorithm) == checksum:
        return dest
    created = _new_folders(dest.parent)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as fh:
            shutil.copyfileobj(response, fh)
    except OSError as err:  # URLError, timeouts, refused connections
        partial.unlink(missing_ok=True)
        for folder in created:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        reason = getattr(err, "reason", err)
        raise DownloadError(
            f"cannot download {url} ({reason}); offline, copy that file to {dest} by hand, or "
            f"point BSTDG_DATA_DIR at a data root that already holds it") from None
    actual = file_digest(partial, algorithm)
    if actual != checksum:
        partial.unlink()
        raise corrupt(url, f"downloaded {algorithm} {actual} != expected {checksum}")
    partial.replace(dest)
    return dest


def download_idx(variant: str, root: Path, base_url: str | None = None) -> Path:
    """Fetch the four IDX .gz files of MNIST or FashionMNIST into `root/<variant>/raw`."""
    raw = root / variant / "raw"
    for name, sha in SHA256[variant].items():
        fetch((base_url or URLS[variant]) + name, raw / name, sha)
    return raw


def download_shd(root: Path, base_url: str = SHD_URL) -> Path:
    """Fetch and gunzip shd_{train,test}.h5 into `root/SHD`, checking md5s."""
    folder = root / "SHD"
    for split in ("train", "test"):
        h5 = folder / f"shd_{split}.h5"
        if h5.is_file() and file_digest(h5, "md5") == SHD_MD5[h5.name]:
            continue
        gz = fetch(
            base_url + h5.name + ".gz", folder / (h5.name + ".gz"), SHD_MD5[h5.name + ".gz"], "md5"
        )
        with gzip.open(gz, "rb") as src, open(h5, "wb") as dst:
            shutil.copyfileobj(src, dst)
        if file_digest(h5, "md5") != SHD_MD5[h5.name]:
            raise corrupt(h5, "md5 of the decompressed file does not match the published one")
        gz.unlink()
    return folder


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=["mnist", "fmnist", "shd", "caltech"])
    parser.add_argument("--to", required=True, type=Path, help="data root (BSTDG_DATA_DIR)")
    args = parser.parse_args(argv)
    root = args.to.expanduser().resolve()
    if args.dataset == "caltech":
        print(CALTECH_HOW_TO_GET)
        return 2
    try:
        if args.dataset == "shd":
            where = download_shd(root)
        else:
            where = download_idx("MNIST" if args.dataset == "mnist" else "FashionMNIST", root)
    except DownloadError as err:
        print(f"bstdg.data.download: {err}", file=sys.stderr)
        return 1
    print(f"{args.dataset}: files verified in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
