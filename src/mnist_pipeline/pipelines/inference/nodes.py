"""What the served model does with a request: images in, digit predictions out.

The served MLflow model (:class:`mnist_pipeline.tracking.model.DigitClassifier`) runs these
functions in order: :func:`requested_images` reads the request (pixel arrays, or encoded
image files prepared exactly as ``predict`` prepares a user's files), the pixels are
scaled by ``preprocess``'s own node, :func:`predict_logits` (which ``evaluate`` uses too)
runs the network, :func:`predictions_table` tabulates. They take what a client sends, so
a bad request is told apart from a bug by :class:`InvalidImagesError`, whose message says
which item is wrong and why.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mnist_pipeline.errors import UserFacingError

from .confidence import Confidence
from .images import IMAGE_SIDE, mnist_like_or_error

#: Columns of a prediction table: the digit (none when the image is rejected), its
#: probability and each class's (calibrated), how digit-like the image is, whether it is
#: rejected as not a digit, and why.
PREDICTION_COLUMNS = [
    "digit",
    "probability",
    *(f"p{digit}" for digit in range(10)),
    "digit_likeness",
    "rejected",
    "reason",
]
#: Rows per call of the model: bounds the memory of the hidden layer on large inputs.
PREDICT_CHUNK = 10_000


def ask_served_model(model: Any, model_input: Any, source: str = "", version: str = "") -> Any:
    """The served model's answer to ``model_input``, telling it who asks: ``source`` is
    where the request comes from for the prediction log (``predict``, ``page``; ``""``,
    the project's own checks, is not logged; the scoring server's requests are
    ``server``), ``version`` the registered version answering when the caller knows it.

    A model logged before the served model took these parameters (its signature has no
    ``params``) is asked without them."""
    metadata = getattr(model, "metadata", None)
    if metadata is None or metadata.get_params_schema() is None:
        return model.predict(model_input)
    return model.predict(model_input, params={"source": source, "model_version": str(version)})


def predict_logits(model: Any, features: np.ndarray) -> np.ndarray:
    """The model's logits for every row of ``features``, (count, classes) float32.

    The model is called directly on chunks of rows rather than through ``model.predict``,
    whose per-call set-up costs more than a small request's whole computation.
    """
    chunks = [
        np.asarray(model(features[start : start + PREDICT_CHUNK], training=False))
        for start in range(0, len(features), PREDICT_CHUNK)
    ]
    if not chunks:
        return np.zeros((0, 10), np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


class InvalidImagesError(UserFacingError, ValueError):
    """A request the served model cannot answer: which item is wrong, and why (the served
    model answers it with HTTP 400: :mod:`mnist_pipeline.tracking.served_model`)."""


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


def predictions_table(logits: np.ndarray, confidence: Confidence) -> pd.DataFrame:
    """One row per image: the predicted ``digit``, its ``probability`` and ``p0``..``p9``
    (calibrated by the model's temperature), its ``digit_likeness``, and whether it is
    ``rejected`` as not a digit (then it has no digit, and a ``reason``).

    Built in one step from its columns: a served request of one image is mostly this.
    """
    probabilities = confidence.probabilities(logits)
    best = probabilities.argmax(axis=1)
    likeness = confidence.digit_likeness(logits)
    rejected = confidence.rejected(likeness)
    digits = pd.array(best.astype(np.int64), dtype="Int64")
    digits[rejected] = pd.NA
    reasons = np.full(len(best), "", dtype=object)
    reasons[rejected] = [
        f"not like any digit (digit-likeness {value:.4f} < {confidence.threshold:.4f})"
        for value in likeness[rejected]
    ]
    columns = {
        "digit": digits,
        "probability": probabilities[np.arange(len(best)), best],
        **{f"p{digit}": probabilities[:, digit] for digit in range(probabilities.shape[1])},
        "digit_likeness": likeness,
        "rejected": rejected,
        "reason": reasons,
    }
    return pd.DataFrame(columns)


def _encoded_length(decoded_bytes: int) -> int:
    """How long a base64 text is for ``decoded_bytes`` of file."""
    return 4 * ((decoded_bytes + 2) // 3)


def _item(index: int, name: str | None) -> str:
    return f"Image {index}" + (f" ({name!r})" if name else "")


def _decode(index: int, name: str | None, text: Any, limits: Mapping[str, int]) -> bytes:
    """The file bytes of one base64 item (a ``data:`` URL prefix is allowed)."""
    if not isinstance(text, str):
        raise InvalidImagesError(
            f"{_item(index, name)} is not a base64 text (it is a {type(text).__name__}): send "
            "either pixel arrays or encoded image files, not both"
        )
    text = text.partition(",")[2] if text.startswith("data:") else text
    if len(text) > _encoded_length(limits["max_image_bytes"]):
        raise InvalidImagesError(
            f"{_item(index, name)} is over {limits['max_image_bytes']:,} bytes "
            "(serving.max_image_bytes): send a smaller file"
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImagesError(
            f"{_item(index, name)} is not base64-encoded file bytes ({exc})"
        ) from None


def _opener(index: int, name: str | None, data: bytes, limits: Mapping[str, int]):
    """A function opening the image, refusing one of more pixels than allowed."""
    from PIL import Image  # noqa: PLC0415

    def open_image():
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > limits["max_image_pixels"]:
            raise InvalidImagesError(
                f"{_item(index, name)} is {width}x{height} pixels, over "
                f"{limits['max_image_pixels']:,} (serving.max_image_pixels): send a smaller image"
            )
        return image

    return open_image


def _encoded_items(model_input: Any) -> tuple[list, list | None] | None:
    """The encoded images of a request and their names, if it sends encoded images."""
    if isinstance(model_input, pd.DataFrame):
        unknown = sorted(set(model_input.columns) - {"image", "name"})
        if "image" not in model_input.columns or unknown:
            raise InvalidImagesError(
                "A table of images needs an `image` column (base64 file bytes) and may have a "
                f"`name` column; it has {', '.join(map(str, model_input.columns))}"
            )
        names = model_input["name"].tolist() if "name" in model_input.columns else None
        return model_input["image"].tolist(), names
    if isinstance(model_input, dict):
        return _encoded_items(pd.DataFrame(model_input))
    array = np.asarray(model_input)
    if array.dtype.kind in "USO" and array.ndim == 1:
        return array.tolist(), None
    if array.dtype.kind == "O":
        raise InvalidImagesError(
            "The request mixes kinds of items: send either pixel arrays (N x 28 x 28 numbers) "
            "or encoded image files (base64 texts), not both"
        )
    return None


def requested_images(
    model_input: Any, preparation: Mapping[str, Any], limits: Mapping[str, int]
) -> tuple[np.ndarray, pd.DataFrame | None]:
    """The images of a request as (N, 28, 28) uint8, and for encoded files a table of items
    (``name`` if given, ``error``) that says which could not be read (those get no image).

    Pixel arrays (N x 28 x 28 numbers, white on black) are checked as ever
    (:func:`check_digit_images`); encoded image files (PNG, JPEG, BMP as base64 texts; a
    table with ``image`` and optional ``name`` columns to name them) are prepared by
    ``predict``'s own :func:`~.images.mnist_like_or_error`.

    Raises:
        InvalidImagesError: for a request that cannot be answered: mixed kinds, more items
            than ``limits['max_request_images']``, a text that is not base64, a file or an
            image too large; it names the item.
    """
    encoded = _encoded_items(model_input)
    count = len(encoded[0]) if encoded is not None else len(np.asarray(model_input))
    if count > limits["max_request_images"]:
        raise InvalidImagesError(
            f"The request holds {count:,} images, over {limits['max_request_images']:,} "
            "(serving.max_request_images): send them in several requests"
        )
    if encoded is None:
        return check_digit_images(model_input), None
    texts, names = encoded
    images, errors = [], []
    for index, text in enumerate(texts):
        name = None if names is None else names[index]
        data = _decode(index, name, text, limits)
        image, error = mnist_like_or_error(_opener(index, name, data, limits), preparation)
        if isinstance(image, np.ndarray):
            images.append(image)
        errors.append(error)
    items = pd.DataFrame({"error": errors})
    if names is not None:
        items.insert(0, "name", names)
    stacked = np.stack(images) if images else np.zeros((0, IMAGE_SIDE, IMAGE_SIDE), np.uint8)
    return stacked, items


def merge_predictions(items: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per item (its naming columns first): its prediction, or its ``error`` and no
    digit (nor a rejection). ``predictions`` has a row per item without an error, in
    order."""
    readable = items["error"].to_numpy(dtype=object) == ""
    merged = predictions.set_axis(items.index[readable]).reindex(items.index)
    merged["rejected"] = merged["rejected"].fillna(False).astype(bool)
    merged["reason"] = merged["reason"].fillna("")
    names = [name for name in items if name != "error"]
    return pd.concat([items[names], merged[PREDICTION_COLUMNS], items[["error"]]], axis=1)
