"""The catalog's report and model datasets write whole files or nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from matplotlib.figure import Figure

from mnist_pipeline.datasets.atomic_datasets import (
    AtomicCSVDataset,
    AtomicJSONDataset,
    AtomicMatplotlibDataset,
)


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


def test_json_round_trip(tmp_path):
    dataset = AtomicJSONDataset(filepath=str(tmp_path / "s.json"))
    dataset.save({"train": {"examples": 3}})
    assert dataset.load() == {"train": {"examples": 3}}
    assert _names(tmp_path) == ["s.json"]


def test_png_is_written_whole(tmp_path):
    figure = Figure()
    figure.subplots().plot([0, 1], [1, 0])
    dataset = AtomicMatplotlibDataset(filepath=str(tmp_path / "plot.png"), save_args={"format": "png"})
    dataset.save(figure)
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _names(tmp_path) == ["plot.png"]


@pytest.mark.slow
def test_keras_model_versions_and_damaged_file(tmp_path):
    from kedro.io.core import Version

    from mnist_pipeline.datasets.keras_model_dataset import AtomicTensorFlowModelDataset
    from mnist_pipeline.training.mlp import averaged_keras_model

    state = {
        f"average_{name}": value
        for name, value in {
            "weights1": np.ones((4, 3), np.float32), "biases1": np.zeros(3, np.float32),
            "weights2": np.ones((3, 2), np.float32), "biases2": np.zeros(2, np.float32),
        }.items()
    }
    folder = tmp_path / "model.keras"

    def dataset(save_version=None):
        return AtomicTensorFlowModelDataset(
            filepath=str(folder), version=Version(None, save_version),
            load_args={"safe_mode": True, "compile": False},
        )

    dataset("2026-01-01T00.00.00.000Z").save(averaged_keras_model(state))
    dataset("2026-01-02T00.00.00.000Z").save(averaged_keras_model(state))
    assert _names(folder) == ["2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"]
    assert _names(folder / "2026-01-02T00.00.00.000Z") == ["model.keras"]
    model = dataset().load()
    # ones(4) @ ones(4, 3) = 4 per hidden unit; @ ones(3, 2) = 12 per logit
    np.testing.assert_allclose(model.predict(np.ones((1, 4), np.float32), verbose=0), [[12, 12]])

    latest = folder / "2026-01-02T00.00.00.000Z" / "model.keras"
    latest.write_bytes(latest.read_bytes()[:100])
    with pytest.raises(DatasetError, match="cannot be loaded") as excinfo:
        dataset().load()
    assert "Delete its version folder" in str(excinfo.value)
