"""Node tests for ``ingest``: the four arrays must belong together."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_pipeline.pipelines.ingest.nodes import RawDataError, validate_raw_data


def _arrays(small_mnist):
    return (
        small_mnist["raw_train_images"],
        small_mnist["raw_train_labels"],
        small_mnist["raw_test_images"],
        small_mnist["raw_test_labels"],
    )


def test_consistent_arrays_pass_unchanged(small_mnist):
    arrays = _arrays(small_mnist)
    for out, original in zip(validate_raw_data(*arrays, num_classes=10), arrays, strict=True):
        assert out is original


def test_image_and_label_counts_must_match(small_mnist):
    train_images, train_labels, test_images, test_labels = _arrays(small_mnist)
    with pytest.raises(RawDataError, match="train has 300 images but 299 labels"):
        validate_raw_data(train_images, train_labels[:-1], test_images, test_labels, 10)


def test_label_outside_range_is_named(small_mnist):
    train_images, train_labels, test_images, test_labels = _arrays(small_mnist)
    bad = test_labels.copy()
    bad[7] = 10
    with pytest.raises(
        RawDataError, match=r"test labels must lie in 0..9.*found 1 outside, e.g. 10"
    ):
        validate_raw_data(train_images, train_labels, test_images, bad, 10)


@pytest.mark.parametrize(
    ("images", "fault"),
    [
        (np.zeros((300, 28, 28), np.float32), "3-D uint8"),
        (np.zeros((300, 784), np.uint8), "3-D uint8"),
        (np.zeros((300, 28, 27), np.uint8), "square"),
    ],
)
def test_train_images_must_be_square_uint8(small_mnist, images, fault):
    _, train_labels, test_images, test_labels = _arrays(small_mnist)
    with pytest.raises(RawDataError, match=fault):
        validate_raw_data(images, train_labels, test_images, test_labels, 10)


def test_train_and_test_images_must_have_the_same_size(small_mnist):
    train_images, train_labels, _, test_labels = _arrays(small_mnist)
    with pytest.raises(RawDataError, match="different data sets"):
        validate_raw_data(
            train_images, train_labels, np.zeros((100, 14, 14), np.uint8), test_labels, 10
        )
