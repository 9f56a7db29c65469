"""Turn validated images and labels into the arrays the model trains on.

The transformations are those of the seed's ``input_data.read_data_sets(one_hot=True)``:
flattened float32 pixels scaled to [0, 1], one-hot float32 labels, and the *first*
``validation_size`` training images held out for validation (no shuffling), so that
results are comparable with the tutorial's.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def flatten_and_scale(images: np.ndarray) -> np.ndarray:
    """Flatten (count, height, width) integer images to (count, height*width) float32 in [0, 1].

    The divisor is the largest value of the image dtype (255 for uint8), as in the seed.
    """
    scale = np.float32(1.0 / np.iinfo(images.dtype).max)
    return images.reshape(len(images), -1).astype(np.float32) * scale


def one_hot_encode(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Encode integer labels as (count, num_classes) float32 one-hot rows."""
    encoded = np.zeros((len(labels), num_classes), dtype=np.float32)
    encoded[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
    return encoded


def split_train_validation(
    features: np.ndarray, targets: np.ndarray, validation_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out the first ``validation_size`` examples, in file order, for validation
    (at least one left to train on: :class:`mnist_pipeline.parameters.PreprocessParameters`).

    Returns:
        ``x_train, y_train, x_val, y_val``.
    """
    return (
        features[validation_size:],
        targets[validation_size:],
        features[:validation_size],
        targets[:validation_size],
    )


def pixel_mean_and_std(features: np.ndarray, rows_per_block: int = 2048) -> tuple[float, float]:
    """Mean and standard deviation of every pixel, accumulated in float64.

    The same two passes as ``features.std(dtype=np.float64)``, a block of rows at a time:
    NumPy's own would first make a float64 copy of the whole split.
    """
    blocks = [
        features[start : start + rows_per_block]
        for start in range(0, len(features), rows_per_block)
    ]
    mean = sum(float(block.sum(dtype=np.float64)) for block in blocks) / features.size
    squares = 0.0
    for block in blocks:
        deviations = block.astype(np.float64) - mean
        squares += float(np.vdot(deviations, deviations))
    return mean, (squares / features.size) ** 0.5


def summarise_split(features: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """Describe one split: example count, examples per class, pixel mean and std."""
    counts = targets.sum(axis=0).astype(np.int64)
    mean, std = pixel_mean_and_std(features)
    return {
        "examples": len(features),
        "class_counts": {str(label): int(count) for label, count in enumerate(counts)},
        "pixel_mean": mean,
        "pixel_std": std,
    }


def gather_summaries(
    train: dict[str, Any], validation: dict[str, Any], test: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The three splits' summaries, by split, as one report."""
    return {"train": train, "validation": validation, "test": test}
