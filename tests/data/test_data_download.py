"""Download code exercised offline through file:// URLs."""

from __future__ import annotations

import gzip

import pytest

from bstdg.data import CorruptDatasetError
from bstdg.data import download as dl


def test_fetch_verifies_and_skips(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    sha = dl.file_digest(src, "sha256")
    dest = tmp_path / "out" / "file.bin"
    assert dl.fetch(src.as_uri(), dest, sha).read_bytes() == b"payload"
    src.unlink()
    assert dl.fetch(src.as_uri(), dest, sha) == dest


def test_fetch_checksum_mismatch(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    with pytest.raises(CorruptDatasetError, match="sha256"):
        dl.fetch(src.as_uri(), tmp_path / "dest.bin", "0" * 64)
    assert not list(tmp_path.glob("dest.bin*"))


def test_download_shd_from_local_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    md5 = {}
    for split in ("train", "test"):
        data = f"fake {split}".encode()
        (mirror / f"shd_{split}.h5.gz").write_bytes(gzip.compress(data))
        md5[f"shd_{split}.h5.gz"] = dl.file_digest(mirror / f"shd_{split}.h5.gz", "md5")
        (tmp_path / "tmp").write_bytes(data)
        md5[f"shd_{split}.h5"] = dl.file_digest(tmp_path / "tmp", "md5")
    monkeypatch.setattr(dl, "SHD_MD5", md5)
    folder = dl.download_shd(tmp_path / "root", base_url=mirror.as_uri() + "/")
    assert (folder / "shd_test.h5").read_bytes() == b"fake test"
    assert sorted(p.name for p in folder.iterdir()) == ["shd_test.h5", "shd_train.h5"]


def test_caltech_prints_instructions(capsys, tmp_path):
    assert dl.main(["caltech", "--to", str(tmp_path)]) == 2
    assert "101_ObjectCategories" in capsys.readouterr().out


def test_a_failed_download_says_what_to_copy_where_and_leaves_no_folder(tmp_path, capsys):
    missing = tmp_path / "mirror" / "absent.gz"
    dest = tmp_path / "root" / "MNIST" / "raw" / "absent.gz"
    with pytest.raises(dl.DownloadError) as err:
        dl.fetch(missing.as_uri(), dest, "0" * 64)
    message = str(err.value)
    assert missing.as_uri() in message and str(dest) in message and "BSTDG_DATA_DIR" in message
    assert not (tmp_path / "root").exists()
