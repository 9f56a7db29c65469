"""The project's datasets on a filesystem that is not local disk (fsspec's ``memory://``).

``memory://`` stands in for an object store (``s3://``, ``gs://``, ``abfs://``): the same
fsspec calls, no rename. Each test works in a bucket of its own and empties it after.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid

import numpy as np
import pandas as pd
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from kedro.io import DatasetError

from mnist_pipeline.datasets import IDXDataset, NumpyDataset
from mnist_pipeline.datasets.reports import AtomicCSVDataset, AtomicJSONDataset
from mnist_pipeline.datasets.storage import Location
from mnist_pipeline.errors import DataFileError

from ..idx_files import encode_idx

LABELS = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)


@pytest.fixture
def bucket():
    """``memory://<unique>``: a fresh in-memory bucket, removed after the test."""
    name = f"bucket-{uuid.uuid4().hex[:8]}"
    yield f"memory://{name}"
    memory = MemoryFileSystem()
    for path in list(memory.store):
        if f"/{name}/" in path:
            memory.store.pop(path)


def _files(url: str) -> list[str]:
    location = Location(url)
    root = str(location.path).rstrip("/")
    return sorted(p.lstrip("/")[len(root.lstrip("/")) + 1 :] for p in location.fs.find(root))


def test_location_writes_whole_or_leaves_the_previous_object(bucket):
    target = Location(f"{bucket}/reports/summary.json")
    target.write_bytes(b'{"ok": true}')
    with pytest.raises(RuntimeError), target.writing() as tmp:
        tmp.write_bytes(b'{"half')
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b'{"ok": true}'
    assert _files(f"{bucket}/reports") == ["summary.json"]


def test_numpy_dataset_round_trip_and_message_naming_the_url(bucket):
    dataset = NumpyDataset(f"{bucket}/05_model_input/x_test.npy")
    assert not dataset.exists()
    with pytest.raises(DataFileError, match=f"{bucket}/05_model_input/x_test.npy does not exist"):
        dataset.load()
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    dataset.save(data)
    assert dataset.exists()
    np.testing.assert_array_equal(dataset.load(), data)


def test_idx_dataset_reads_gzip_verifies_and_peeks_the_header(bucket):
    sha = hashlib.sha256(encode_idx(LABELS)).hexdigest()
    dataset = IDXDataset(f"{bucket}/01_raw/labels-idx1-ubyte.gz", sha256=sha)
    Location(f"{bucket}/01_raw/labels-idx1-ubyte.gz").write_bytes(gzip.compress(encode_idx(LABELS)))
    np.testing.assert_array_equal(dataset.load(), LABELS)
    assert dataset.peek_shape() == (8,)
    wrong = IDXDataset(f"{bucket}/01_raw/labels-idx1-ubyte.gz", sha256="0" * 64)
    with pytest.raises(DataFileError, match="is not usable: SHA-256"):
        wrong.load()


def test_idx_download_lands_on_the_object_store_only_when_verified(bucket, mirror):
    raw = encode_idx(LABELS)
    mirror.files["/bad/labels.gz"] = gzip.compress(raw[:-1] + b"\x00")
    mirror.files["/good/labels.gz"] = gzip.compress(raw)
    dataset = IDXDataset(
        f"{bucket}/01_raw/labels.gz",
        sha256=hashlib.sha256(raw).hexdigest(),
        mirrors=[f"{mirror.url}/bad/", f"{mirror.url}/good/"],
        timeout=5,
    )
    np.testing.assert_array_equal(dataset.load(), LABELS)
    assert mirror.requests == ["/bad/labels.gz", "/good/labels.gz"]
    assert _files(f"{bucket}/01_raw") == ["labels.gz"]


def test_kedro_datasets_subclasses_save_atomically_on_the_object_store(bucket):
    # Kedro reads memory://a/b/c as /b/c (it drops memory's first part): hence a/bucket/c.
    folder = f"memory://kedro/{bucket.removeprefix('memory://')}/08_reporting"
    table = AtomicCSVDataset(filepath=f"{folder}/table.csv", save_args={"index": False})
    table.save(pd.DataFrame({"digit": [0, 1], "recall": [0.99, 0.98]}))
    pd.testing.assert_frame_equal(
        table.load(), pd.DataFrame({"digit": [0, 1], "recall": [0.99, 0.98]})
    )

    class Unserialisable:
        pass

    summary = AtomicJSONDataset(filepath=f"{folder}/summary.json")
    summary.save({"rows": 3})
    with pytest.raises(DatasetError, match="not JSON serializable"):
        summary.save({"rows": Unserialisable()})  # fails half-way through json.dump
    assert summary.load() == {"rows": 3}
    assert sorted(summary._fs.ls(str(summary._get_save_path().parent), detail=False)) == [
        str(summary._get_save_path()),
        str(table._get_save_path()),
    ]


@pytest.mark.slow  # imports TensorFlow
def test_checkpoint_and_model_datasets_round_trip_on_the_object_store(bucket):
    tf = pytest.importorskip("tensorflow")
    from mnist_pipeline.datasets import KerasModelDataset, TensorFlowCheckpointDataset

    checkpoint = TensorFlowCheckpointDataset(f"{bucket}/06_models/checkpoint")
    state = {"weights": np.eye(3, dtype=np.float32), "step": np.int64(7)}
    checkpoint.save(state)
    assert checkpoint.exists()
    loaded = checkpoint.load()
    np.testing.assert_array_equal(loaded["weights"], state["weights"])
    assert loaded["step"] == 7
    with (
        pytest.raises(RuntimeError),
        Location(f"{bucket}/06_models/checkpoint").writing_folder("checkpoint") as tmp,
    ):
        (tmp / "ckpt-1.index").write_bytes(b"half")
        raise RuntimeError("interrupted")
    np.testing.assert_array_equal(checkpoint.load()["weights"], state["weights"])

    inputs = tf.keras.Input((4,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(inputs))
    stored = KerasModelDataset(f"{bucket}/06_models/model.keras", load_args={"compile": False})
    stored.save(model)
    x = np.ones((1, 4), dtype=np.float32)
    np.testing.assert_allclose(stored.load()(x).numpy(), model(x).numpy())
    assert _files(f"{bucket}/06_models") == [
        "checkpoint/checkpoint",
        "checkpoint/ckpt-1.data-00000-of-00001",
        "checkpoint/ckpt-1.index",
        "model.keras",
    ]


@pytest.mark.slow  # imports TensorFlow
def test_resume_checkpoints_mirrored_to_the_object_store_resume_on_another_machine(bucket):
    pytest.importorskip("tensorflow")
    from mnist_pipeline.datasets import ResumeCheckpointsDataset
    from mnist_pipeline.parameters import MLPParameters
    from mnist_pipeline.training.mlp import AveragedMLP

    fingerprint = {"settings": {"seed": 3}, "data_sha256": "abc"}
    dataset = ResumeCheckpointsDataset(f"{bucket}/06_models/resume_checkpoints", max_to_keep=2)
    trained = AveragedMLP(5, 3, MLPParameters(hidden_units=4, seed=1))
    writer = dataset.load()  # a local working copy, mirrored
    for step in (10, 20, 30):
        trained.global_step.assign(step)
        writer.save(trained, step, [(step, 0.5, 0.1, 0.8)], fingerprint)
    assert _files(f"{bucket}/06_models/resume_checkpoints") == [
        "checkpoint",
        "ckpt-20.data-00000-of-00001",
        "ckpt-20.index",
        "ckpt-20.json",
        "ckpt-30.data-00000-of-00001",
        "ckpt-30.index",
        "ckpt-30.json",
    ]
    index = Location(f"{bucket}/06_models/resume_checkpoints/checkpoint").read_bytes().decode()
    assert '"ckpt-30"' in index and str(writer.directory) not in index  # relative paths

    # A retried task elsewhere: a new working copy, downloaded from the store.
    fresh = AveragedMLP(5, 3, MLPParameters(hidden_units=4, seed=2))
    reader = dataset.load()
    assert reader.directory != writer.directory
    resumed = reader.restore(fresh, fingerprint, 100)
    assert resumed is not None and resumed.step == 30
    assert resumed.history == [(30, 0.5, 0.1, 0.8)]
    for name, value in trained.state().items():
        np.testing.assert_array_equal(fresh.state()[name], value, err_msg=name)
    assert (
        json.loads(Location(f"{bucket}/06_models/resume_checkpoints/ckpt-30.json").read_bytes())[
            "step"
        ]
        == 30
    )

    reader.clear()
    assert not dataset.exists()
