"""NumpyDataset, TensorFlowCheckpointDataset and the atomic-write helpers."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DatasetError

from mnist_pipeline.datasets import NumpyDataset
from mnist_pipeline.datasets.storage import atomic_directory, atomic_file


def test_numpy_round_trip(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    dataset = NumpyDataset(filepath=str(tmp_path / "sub" / "a.npy"))
    dataset.save(array)
    loaded = dataset.load()
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, array)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["a.npy"]


def test_numpy_missing_file_says_what_to_run(tmp_path):
    with pytest.raises(DatasetError, match="does not exist: run the pipeline"):
        NumpyDataset(filepath=str(tmp_path / "absent.npy")).load()


def test_numpy_refuses_pickled_objects(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match="not a readable .npy"):
        NumpyDataset(filepath=str(path)).load()


def test_numpy_damaged_file_is_reported(tmp_path):
    path = tmp_path / "a.npy"
    NumpyDataset(filepath=str(path)).save(np.arange(1000))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match=str(path)):
        NumpyDataset(filepath=str(path)).load()


def test_interrupted_file_write_leaves_old_file_and_no_partial(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as tmp:
        tmp.write_bytes(b"half of the new")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_interrupted_directory_write_leaves_old_directory(tmp_path):
    target = tmp_path / "ckpt"
    target.mkdir()
    (target / "a").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "a").write_text("new")
        raise RuntimeError("disk full")
    assert (target / "a").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    with atomic_directory(target) as tmp:
        (tmp / "b").write_text("new")
    assert [p.name for p in target.iterdir()] == ["b"]
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


@pytest.mark.slow
def test_checkpoint_round_trip_and_damage(tmp_path):
    from mnist_pipeline.datasets import TensorFlowCheckpointDataset

    state = {
        "weights1": np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32),
        "average_weights1": np.ones((4, 3), np.float32),
        "global_step": np.asarray(17, dtype=np.int64),
    }
    dataset = TensorFlowCheckpointDataset(filepath=str(tmp_path / "checkpoint"))
    assert not dataset.exists()
    dataset.save(state)
    assert dataset.exists()
    loaded = dataset.load()
    assert sorted(loaded) == sorted(state)
    for name, value in state.items():
        np.testing.assert_array_equal(loaded[name], value)
    # readable with TensorFlow alone, from its folder
    import tensorflow as tf

    assert (
        int(
            tf.train.load_checkpoint(str(tmp_path / "checkpoint")).get_tensor(
                "global_step/.ATTRIBUTES/VARIABLE_VALUE"
            )
        )
        == 17
    )
    # damage the data file: a clear message, not a TensorFlow stack trace
    data_file = next((tmp_path / "checkpoint").glob("*.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:10])
    with pytest.raises(DatasetError, match="damaged"):
        dataset.load()


@pytest.mark.slow
def test_missing_checkpoint_says_to_train_first(tmp_path):
    from mnist_pipeline.datasets import TensorFlowCheckpointDataset

    with pytest.raises(DatasetError, match="run `kedro run`"):
        TensorFlowCheckpointDataset(filepath=str(tmp_path / "none")).load()
