"""``ingest`` and ``preprocess`` on the Airflow environment's catalog, with every shared
file on an object store (fsspec's ``memory://`` standing in for ``s3://``)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from omegaconf.resolvers import oc

from mnist_pipeline.datasets.storage import Location
from mnist_pipeline.pipelines import ingest, preprocess

from ..conftest import MNIST_FILES, PROJECT_ROOT

pytestmark = pytest.mark.slow  # the real MNIST files


def _parameters(tree: dict, prefix: str = "params:") -> dict:
    """``{"params:ingest.num_classes": 10, ...}`` for every leaf and branch of ``tree``."""
    flat = {}
    for key, value in tree.items():
        flat[f"{prefix}{key}"] = value
        if isinstance(value, dict):
            flat.update(_parameters(value, f"{prefix}{key}."))
    return flat


@pytest.fixture
def root():
    """A fresh ``memory://`` bucket, emptied after the test (it holds about 400 MB)."""
    url = f"memory://mnist-{uuid.uuid4().hex[:8]}"
    yield url
    Location(url).remove()


def test_ingest_and_preprocess_read_and_write_only_the_object_store(
    root, monkeypatch, real_mnist_dir
):
    monkeypatch.setenv("MNIST_DATA_ROOT", root)
    config = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        base_env="base",
        default_run_env="airflow",
        custom_resolvers={"oc.env": oc.env},
    )
    catalog = DataCatalog.from_config(config["catalog"])
    for name, value in _parameters(config["parameters"]).items():
        catalog[name] = value
    for name in MNIST_FILES:
        Location(f"{root}/01_raw/{name}").write_bytes((real_mnist_dir / name).read_bytes())

    SequentialRunner().run(ingest.create_pipeline() + preprocess.create_pipeline(), catalog)

    x_train = Location(f"{root}/05_model_input/x_train.npy")
    assert x_train.is_file()
    assert catalog.load("x_train").shape == (55000, 784)
    assert catalog.load("y_val").shape == (5000, 10)
    np.testing.assert_array_equal(catalog.load("y_test").sum(axis=0)[:3], [980, 1135, 1032])
    assert catalog.load("data_summary")  # written to, and read back from, the object store
    assert catalog.get("x_train")._describe()["filepath"] == f"{root}/05_model_input/x_train.npy"
