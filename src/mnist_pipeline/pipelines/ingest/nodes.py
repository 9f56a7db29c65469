"""Checks that the raw MNIST arrays are what the rest of the project assumes.

The IDX dataset already guarantees each file is well formed (and, with a checksum, the
expected file); these nodes check what no single file can: that images and labels pair
up, and that train and test describe the same kind of image.
"""

from __future__ import annotations

import numpy as np

from mnist_pipeline.errors import UserFacingError


class RawDataError(UserFacingError, ValueError):
    """The raw arrays do not form a usable image classification data set."""


def _check_split(name: str, images: np.ndarray, labels: np.ndarray, num_classes: int) -> None:
    if images.ndim != 3 or images.dtype != np.uint8:
        raise RawDataError(
            f"{name} images must be a 3-D uint8 array (count, height, width), "
            f"got {images.ndim}-D {images.dtype} of shape {images.shape}"
        )
    if images.shape[1] != images.shape[2]:
        raise RawDataError(f"{name} images must be square, got {images.shape[1]}x{images.shape[2]}")
    if labels.ndim != 1:
        raise RawDataError(f"{name} labels must be 1-D, got shape {labels.shape}")
    if len(images) != len(labels):
        raise RawDataError(
            f"{name} has {len(images)} images but {len(labels)} labels: "
            "the image and label files do not belong together"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise RawDataError(
            f"{name} labels must lie in 0..{num_classes - 1} (ingest.num_classes={num_classes}), "
            f"found {bad.size} outside, e.g. {int(bad[0])}"
        )


def validate_raw_data(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    num_classes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the four arrays unchanged if they form one consistent data set.

    Raises:
        RawDataError: naming the split and what is inconsistent.
    """
    _check_split("train", train_images, train_labels, num_classes)
    _check_split("test", test_images, test_labels, num_classes)
    if train_images.shape[1:] != test_images.shape[1:]:
        raise RawDataError(
            f"train images are {train_images.shape[1:]} but test images are "
            f"{test_images.shape[1:]}: the files come from different data sets"
        )
    return train_images, train_labels, test_images, test_labels
