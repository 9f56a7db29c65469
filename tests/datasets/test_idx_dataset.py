"""IDXDataset: verified loads, and downloads from mirrors written whole or not at all."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
from kedro.io import DatasetError

from mnist_pipeline.datasets import IDXDataset
from mnist_pipeline.datasets.download import DownloadError, check_url_is_secure

from ..conftest import closed_port_url
from ..idx_files import encode_idx, write_idx

LABELS = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)
RAW = encode_idx(LABELS)
SHA = hashlib.sha256(RAW).hexdigest()


def _sidecar_files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("name", ["labels-idx1-ubyte", "labels-idx1-ubyte.gz"])
def test_plain_and_gzip_files_load(tmp_path, name):
    write_idx(tmp_path / name, LABELS)
    dataset = IDXDataset(filepath=str(tmp_path / name), sha256=SHA)
    np.testing.assert_array_equal(dataset.load(), LABELS)
    assert dataset.exists()
    assert (tmp_path / name).read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\0\0")


def test_checksum_is_of_the_decompressed_bytes(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(RAW))
    np.testing.assert_array_equal(IDXDataset(filepath=str(path), sha256=SHA).load(), LABELS)


def test_checksum_mismatch_names_file_and_both_checksums(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(encode_idx(LABELS[::-1])))
    with pytest.raises(DatasetError) as excinfo:
        IDXDataset(filepath=str(path), sha256=SHA).load()
    message = str(excinfo.value)
    assert str(path) in message
    assert SHA in message
    assert "SHA-256" in message


@pytest.mark.parametrize(
    ("damage", "fault"),
    [
        (lambda gz, raw: gz[: len(gz) // 2], "gzip stream is truncated"),
        (lambda gz, raw: gzip.compress(b"\x07" + raw[1:]), "wrong magic number"),
        (lambda gz, raw: gzip.compress(raw[:2] + b"\x42" + raw[3:]), "unknown IDX type code"),
        (lambda gz, raw: gzip.compress(raw[:-3]), "truncated"),
    ],
    ids=["truncated-gzip", "wrong-magic", "unknown-type", "short-data"],
)
def test_bad_files_give_a_message_naming_file_and_fault(tmp_path, damage, fault):
    raw = encode_idx(np.arange(2000, dtype=np.int32))
    path = tmp_path / "bad-idx1-ubyte.gz"
    path.write_bytes(damage(gzip.compress(raw), raw))
    with pytest.raises(DatasetError, match=fault) as excinfo:
        IDXDataset(filepath=str(path)).load()
    assert str(path) in str(excinfo.value)


def test_missing_file_without_mirrors_says_where_to_put_it(tmp_path):
    path = tmp_path / "absent.gz"
    with pytest.raises(DatasetError, match="put the file there by hand") as excinfo:
        IDXDataset(filepath=str(path), sha256=SHA).load()
    assert str(path) in str(excinfo.value)


def test_missing_file_without_checksum_is_not_downloaded(tmp_path, mirror):
    mirror.files["/m/labels.gz"] = gzip.compress(RAW)
    dataset = IDXDataset(filepath=str(tmp_path / "labels.gz"), mirrors=[f"{mirror.url}/m/"])
    with pytest.raises(DatasetError, match="no sha256"):
        dataset.load()
    assert mirror.requests == []


def test_download_from_first_good_mirror(tmp_path, mirror):
    mirror.failing.add("/down/labels.gz")
    mirror.files["/good/labels.gz"] = gzip.compress(RAW)
    dataset = IDXDataset(
        filepath=str(tmp_path / "raw" / "labels.gz"),
        sha256=SHA,
        mirrors=[closed_port_url(), f"{mirror.url}/down/", f"{mirror.url}/good/"],
        timeout=5,
    )
    np.testing.assert_array_equal(dataset.load(), LABELS)
    assert mirror.requests == ["/down/labels.gz", "/good/labels.gz"]
    assert _sidecar_files(tmp_path / "raw") == ["labels.gz"]
    # a second load uses the file on disk, no new request
    dataset.load()
    assert len(mirror.requests) == 2


def test_corrupted_mirror_is_skipped(tmp_path, mirror):
    mirror.files["/bad/labels.gz"] = gzip.compress(encode_idx(LABELS[::-1]))
    mirror.files["/good/labels.gz"] = gzip.compress(RAW)
    dataset = IDXDataset(
        filepath=str(tmp_path / "labels.gz"),
        sha256=SHA,
        mirrors=[f"{mirror.url}/bad", f"{mirror.url}/good"],
    )
    np.testing.assert_array_equal(dataset.load(), LABELS)
    assert mirror.requests == ["/bad/labels.gz", "/good/labels.gz"]


def test_remote_name_differs_from_local_name(tmp_path, mirror):
    mirror.files["/m/labels.gz"] = gzip.compress(RAW)
    dataset = IDXDataset(
        filepath=str(tmp_path / "my-labels.gz"),
        sha256=SHA,
        mirrors=[f"{mirror.url}/m"],
        remote_name="labels.gz",
    )
    np.testing.assert_array_equal(dataset.load(), LABELS)


def test_all_mirrors_failing_gives_one_message_and_leaves_no_file(tmp_path, mirror):
    mirror.files["/bad/labels.gz"] = b"not even gzip"
    path = tmp_path / "labels.gz"
    urls = [closed_port_url(), f"{mirror.url}/bad/"]
    with pytest.raises(DatasetError) as excinfo:
        IDXDataset(filepath=str(path), sha256=SHA, mirrors=urls, timeout=5).load()
    message = str(excinfo.value)
    assert str(path) in message
    for url in urls:
        assert url.rstrip("/") + "/labels.gz" in message
    assert "copy the file by hand" in message
    assert _sidecar_files(tmp_path) == []


def test_no_network_message_names_file_mirrors_and_manual_step(tmp_path):
    """Unresolvable hosts stand for a machine without network."""
    path = tmp_path / "raw" / "train-labels-idx1-ubyte.gz"
    mirrors = ["https://mirror-one.invalid/mnist/", "https://mirror-two.invalid/mnist/"]
    with pytest.raises(DatasetError) as excinfo:
        IDXDataset(filepath=str(path), sha256=SHA, mirrors=mirrors, timeout=2).load()
    message = str(excinfo.value)
    assert f"IDX file {path} is missing" in message
    assert "https://mirror-one.invalid/mnist/train-labels-idx1-ubyte.gz" in message
    assert "https://mirror-two.invalid/mnist/train-labels-idx1-ubyte.gz" in message
    assert f"copy the file by hand to {path}" in message
    assert not path.exists()


@pytest.mark.parametrize(
    "url",
    ["http://example.com/mnist/x.gz", "ftp://127.0.0.1/x.gz", "file:///etc/passwd"],
)
def test_only_https_or_loopback_http_is_allowed(url):
    with pytest.raises(DownloadError, match="only https"):
        check_url_is_secure(url)


@pytest.mark.parametrize(
    "url", ["https://example.com/x.gz", "http://127.0.0.1:8000/x.gz", "http://localhost/x.gz"]
)
def test_secure_urls_pass(url):
    check_url_is_secure(url)


def test_a_raw_input_is_never_written(tmp_path):
    path = write_idx(tmp_path / "labels.gz", LABELS)
    before = path.read_bytes()
    with pytest.raises(DatasetError, match="raw input file and is never written"):
        IDXDataset(filepath=str(path)).save(np.zeros(3, dtype=np.uint8))
    assert path.read_bytes() == before
