"""Turn raw MNIST-like images into digit predictions a person can read.

These nodes run inside the served MLflow model (kedro-mlflow's ``KedroPipelineModel``):
they take what a client sends, so a bad request is told apart from a bug by
:class:`InvalidImagesError`, whose message says what is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from mnist_pipeline.errors import UserFacingError

#: The side of an MNIST image, in pixels.
IMAGE_SIDE = 28
#: Columns of a prediction table: the digit, its probability, then each class's.
PREDICTION_COLUMNS = ["digit", "probability", *(f"p{digit}" for digit in range(10))]
#: Rows per call of the model: bounds the memory of the hidden layer on large inputs.
PREDICT_CHUNK = 10_000


def predict_logits(model: Any, features: np.ndarray) -> np.ndarray:
    """The model's logits for every row of ``features``, (count, classes) float32.

    The model is called directly on chunks of rows rather than through ``model.predict``,
    whose per-call set-up costs more than a small request's whole computation.
    """
    chunks = [
        np.asarray(model(features[start : start + PREDICT_CHUNK], training=False))
        for start in range(0, len(features), PREDICT_CHUNK)
    ]
    return np.concatenate(chunks).astype(np.float32, copy=False)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities (float64) from logits, one row per example."""
    from scipy import special  # noqa: PLC0415 (only where probabilities are needed)

    return special.softmax(logits.astype(np.float64), axis=1)


class InvalidImagesError(UserFacingError, MlflowException):
    """The images given for prediction are not (N, 28, 28) whole numbers in 0..255.

    An ``MlflowException`` with code ``INVALID_PARAMETER_VALUE``: MLflow's scoring server
    answers it with HTTP 400 and this message (any other error becomes a generic one).
    """

    def __init__(self, message: str) -> None:
        """Create the error with ``message`` (what is wrong with which image)."""
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)


def check_digit_images(images: np.ndarray) -> np.ndarray:
    """Check that ``images`` are MNIST-like images and return them as uint8.

    Accepts any numeric array of shape (N, 28, 28), N >= 1, whose values are whole
    numbers in 0..255 (white digit on black, as MNIST); integers that arrive as floats
    (e.g. from JSON) are fine.

    Raises:
        InvalidImagesError: naming the first problem found (shape, type or value).
    """
    array = np.asarray(images)
    if array.ndim != 3 or array.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise InvalidImagesError(
            f"Expected images of shape (N, {IMAGE_SIDE}, {IMAGE_SIDE}) (N images of "
            f"{IMAGE_SIDE}x{IMAGE_SIDE} pixels), got shape {array.shape}."
        )
    if len(array) == 0:
        raise InvalidImagesError("No images given: send at least one 28x28 image.")
    if array.dtype.kind not in "uif" or array.dtype == np.float16:
        raise InvalidImagesError(
            f"Pixel values must be numbers 0..255, got values of type {array.dtype}."
        )
    outside = ~np.isfinite(array) | (array < 0) | (array > 255)
    if outside.any():
        raise InvalidImagesError(
            "Pixel values must lie in 0..255 (white digit on black); "
            f"{_first_pixel(array, outside)}."
        )
    fractional = array != np.round(array)
    if fractional.any():
        raise InvalidImagesError(
            f"Pixel values must be whole numbers 0..255; {_first_pixel(array, fractional)}."
        )
    return array.astype(np.uint8)


def _first_pixel(images: np.ndarray, wrong: np.ndarray) -> str:
    """Where the first pixel marked in ``wrong`` is, and its value, in words."""
    image, row, column = (int(i) for i in np.argwhere(wrong)[0])
    return f"image {image} has {float(images[image, row, column]):g} at row {row}, column {column}"


def predictions_table(logits: np.ndarray) -> pd.DataFrame:
    """One row per image: the predicted ``digit``, its ``probability`` and ``p0``..``p9``."""
    probabilities = softmax(logits)
    digits = probabilities.argmax(axis=1)
    table = pd.DataFrame(probabilities, columns=PREDICTION_COLUMNS[2:])
    table.insert(0, "digit", digits.astype(np.int64))
    table.insert(1, "probability", probabilities[np.arange(len(digits)), digits])
    return table
