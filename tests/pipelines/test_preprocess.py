"""Node tests for ``preprocess``: the seed's scaling, one-hot encoding and split."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_pipeline.pipelines.preprocess.nodes import (
    flatten_and_scale,
    gather_summaries,
    one_hot_encode,
    pixel_mean_and_std,
    split_train_validation,
    summarise_split,
)


def test_flatten_and_scale_matches_the_seed():
    images = np.array([[[0, 255], [128, 1]]], dtype=np.uint8)
    out = flatten_and_scale(images)
    assert out.dtype == np.float32
    assert out.shape == (1, 4)
    # the seed: images.astype(float32) * (1.0 / 255.0)
    np.testing.assert_array_equal(out, images.reshape(1, 4).astype(np.float32) * (1.0 / 255.0))
    assert out.min() == 0.0
    assert out.max() == 1.0


def test_one_hot_encode():
    out = one_hot_encode(np.array([2, 0, 9], dtype=np.uint8), 10)
    assert out.dtype == np.float32
    assert out.shape == (3, 10)
    np.testing.assert_array_equal(out.argmax(axis=1), [2, 0, 9])
    np.testing.assert_array_equal(out.sum(axis=1), [1, 1, 1])


def test_split_holds_out_the_first_examples_in_file_order():
    features = np.arange(10, dtype=np.float32).reshape(10, 1)
    targets = np.arange(10, dtype=np.float32).reshape(10, 1) * 2
    x_train, y_train, x_val, y_val = split_train_validation(features, targets, 3)
    np.testing.assert_array_equal(x_val.ravel(), [0, 1, 2])
    np.testing.assert_array_equal(x_train.ravel(), np.arange(3, 10))
    np.testing.assert_array_equal(y_val.ravel(), [0, 2, 4])
    np.testing.assert_array_equal(y_train.ravel(), np.arange(3, 10) * 2)


def test_summary_counts_classes_and_pixels():
    x = np.array([[0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    y = one_hot_encode(np.array([1, 1]), 3)
    summary = gather_summaries(
        summarise_split(x, y), summarise_split(x[:1], y[:1]), summarise_split(x, y)
    )
    assert summary["train"] == {
        "examples": 2,
        "class_counts": {"0": 0, "1": 2, "2": 0},
        "pixel_mean": 0.75,
        "pixel_std": pytest.approx(np.sqrt(0.1875)),
    }
    assert summary["validation"]["examples"] == 1


@pytest.mark.parametrize("rows_per_block", [1, 7, 2048])
def test_blockwise_pixel_statistics_equal_numpys(rows_per_block):
    pixels = np.random.default_rng(0).random((500, 784), dtype=np.float32)
    mean, std = pixel_mean_and_std(pixels, rows_per_block)
    assert mean == pytest.approx(pixels.mean(dtype=np.float64), rel=1e-12)
    assert std == pytest.approx(pixels.std(dtype=np.float64), rel=1e-12)
