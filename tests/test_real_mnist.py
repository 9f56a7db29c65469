"""The catalog's IDX entries on the real MNIST files: checksums and published facts."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mnist_pipeline.datasets import IDXDataset
from mnist_pipeline.pipelines.preprocess.nodes import flatten_and_scale

from .conftest import MNIST_FILES, PROJECT_ROOT

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def raw_catalog(real_mnist_dir, tmp_path):
    """The project's own catalog entries for the raw files, pointed at a copy of them."""
    import yaml

    entries = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog.yml").read_text())
    datasets = {}
    for name in MNIST_FILES:
        shutil.copy(real_mnist_dir / name, tmp_path / name)
    for key in ("raw_train_images", "raw_train_labels", "raw_test_images", "raw_test_labels"):
        config = dict(entries[key])
        config.pop("type")
        config.pop("metadata", None)
        config["filepath"] = str(tmp_path / config["filepath"].split("/")[-1])
        config["mirrors"] = []  # never touch the network in tests
        datasets[key] = IDXDataset(**config)
    return datasets


def test_real_files_pass_their_checksums_and_shapes(raw_catalog):
    images = raw_catalog["raw_train_images"].load()
    assert images.shape == (60000, 28, 28)
    assert images.dtype == np.uint8
    assert raw_catalog["raw_test_images"].load().shape == (10000, 28, 28)


def test_class_counts_equal_the_published_figures(raw_catalog):
    train = raw_catalog["raw_train_labels"].load()
    test = raw_catalog["raw_test_labels"].load()
    assert np.bincount(train, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(test, minlength=10).tolist() == TEST_COUNTS


def test_pixel_statistics_equal_the_published_figures(raw_catalog):
    pixels = flatten_and_scale(raw_catalog["raw_train_images"].load())
    assert pixels.mean(dtype=np.float64) == pytest.approx(0.1307, abs=5e-5)
    assert pixels.std(dtype=np.float64) == pytest.approx(0.3081, abs=5e-5)
