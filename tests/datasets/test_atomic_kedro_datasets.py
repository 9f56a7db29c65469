"""The catalog's report and model datasets write whole files or nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from matplotlib.figure import Figure

from mnist_pipeline.datasets.figures import AtomicMatplotlibDataset
from mnist_pipeline.datasets.reports import AtomicCSVDataset, AtomicJSONDataset


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_csv_round_trip_and_interrupted_save(tmp_path, monkeypatch):
    path = tmp_path / "report.csv"
    dataset = AtomicCSVDataset(filepath=str(path), save_args={"index": False})
    frame = pd.DataFrame({"step": [0, 1000], "val_accuracy": [0.1, 0.97]})
    dataset.save(frame)
    pd.testing.assert_frame_equal(dataset.load(), frame)
    before = path.read_bytes()

    def half_written(self, path_or_buf, **kwargs):
        with open(path_or_buf, "w") as handle:
            handle.write("step,val_acc")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_written)
    with pytest.raises(KeyboardInterrupt):
        dataset.save(frame)
    assert path.read_bytes() == before
    assert _names(tmp_path) == ["report.csv"]


def test_json_round_trip_and_failure_half_way(tmp_path):
    dataset = AtomicJSONDataset(filepath=str(tmp_path / "s.json"))
    dataset.save({"train": {"examples": 3}})
    assert dataset.load() == {"train": {"examples": 3}}
    before = (tmp_path / "s.json").read_bytes()
    # json.dump has written '{"train": ' when it meets the object it cannot encode.
    with pytest.raises(DatasetError, match="not JSON serializable"):
        dataset.save({"train": object()})
    assert (tmp_path / "s.json").read_bytes() == before
    assert _names(tmp_path) == ["s.json"]


def test_png_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    figure = Figure()
    figure.subplots().plot([0, 1], [1, 0])
    dataset = AtomicMatplotlibDataset(
        filepath=str(tmp_path / "plot.png"), save_args={"format": "png"}
    )
    dataset.save(figure)
    before = (tmp_path / "plot.png").read_bytes()
    assert before[:8] == b"\x89PNG\r\n\x1a\n"

    def half_written(self, path, **kwargs):
        Path(path).write_bytes(before[:20])
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(KeyboardInterrupt):
        dataset.save(figure)
    assert (tmp_path / "plot.png").read_bytes() == before
    assert _names(tmp_path) == ["plot.png"]


@pytest.mark.slow
def test_keras_model_round_trip_interrupted_save_shared_copies_and_damaged_file(
    tmp_path, monkeypatch
):
    import copy

    import tensorflow as tf

    from mnist_pipeline.datasets import KerasModelDataset
    from mnist_pipeline.training.mlp import averaged_keras_model

    def model(scale: float):
        return averaged_keras_model(
            {
                "average_weights1": np.full((4, 3), scale, np.float32),
                "average_biases1": np.zeros(3, np.float32),
                "average_weights2": np.ones((3, 2), np.float32),
                "average_biases2": np.zeros(2, np.float32),
            }
        )

    path = tmp_path / "model.keras"
    dataset = KerasModelDataset(filepath=str(path), load_args={"safe_mode": True, "compile": False})
    dataset.save(model(1.0))
    loaded = dataset.load()
    # ones(4) @ ones(4, 3) = 4 per hidden unit; @ ones(3, 2) = 12 per logit
    np.testing.assert_allclose(loaded(np.ones((1, 4), np.float32)), [[12, 12]])
    assert copy.deepcopy({"model": loaded})["model"] is loaded  # read-only: copies share it

    real_save = tf.keras.models.save_model

    def dies_half_way(data, filepath, **kwargs):
        real_save(data, filepath, **kwargs)
        with open(filepath, "r+b") as file:
            file.truncate(100)
        raise KeyboardInterrupt

    monkeypatch.setattr(tf.keras.models, "save_model", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        dataset.save(model(2.0))
    assert _names(tmp_path) == ["model.keras"]  # the old model, whole; no partial file
    np.testing.assert_allclose(dataset.load()(np.ones((1, 4), np.float32)), [[12, 12]])

    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match="cannot be loaded") as excinfo:
        dataset.load()
    assert str(path) in str(excinfo.value) and "Retrain it with `kedro run`" in str(excinfo.value)
