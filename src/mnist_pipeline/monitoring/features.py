"""A few numbers that describe a 28x28 digit image, so that drift in what the model is
sent can be seen without keeping anyone's images.

Every feature is computed on the image the network received (white ink on black, 0-255,
as MNIST), in pixels or in intensity (0-1):

- ``ink_mass``: the summed intensity, in pixels of full ink;
- ``ink_height``, ``ink_width``: the box around the ink pixels (intensity above
  :data:`INK_LEVEL`), 0 for an empty image;
- ``centre_offset_x``, ``centre_offset_y``: where the intensity's centre of mass lies from
  the image's centre (MNIST centres every digit by it, so a shift shows here);
- ``stroke_width``: ink area over half the ink's outline (a stroke of length L and width w
  has area L*w and outline about 2L), 0 for an empty image;
- ``mean_intensity``, ``max_intensity``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The features of an image, in the order a log record holds them.
FEATURES = [
    "ink_mass",
    "ink_height",
    "ink_width",
    "centre_offset_x",
    "centre_offset_y",
    "stroke_width",
    "mean_intensity",
    "max_intensity",
]
#: A pixel counts as ink from this intensity up (of 1).
INK_LEVEL = 0.2


def image_features(images: np.ndarray) -> pd.DataFrame:
    """The :data:`FEATURES` of each image of ``images`` ((N, 28, 28), 0-255), one row each."""
    return pd.DataFrame(feature_columns(images), columns=FEATURES)


def feature_columns(images: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`image_features` as one array per feature (for a caller that builds a wider
    table)."""
    pixels = np.asarray(images, dtype=np.float64).reshape(len(images), 28, 28) / 255.0
    ink = pixels > INK_LEVEL
    rows, columns = ink.any(axis=2), ink.any(axis=1)
    mass = pixels.sum(axis=(1, 2))
    coordinates = np.arange(28, dtype=np.float64)
    safe_mass = np.where(mass > 0, mass, 1.0)
    centre_y = (pixels.sum(axis=2) @ coordinates) / safe_mass
    centre_x = (pixels.sum(axis=1) @ coordinates) / safe_mass
    # The outline: sides of ink pixels that touch paper (or the image's edge).
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    outline = sum(
        (ink & ~np.roll(padded, shift, axis)[:, 1:-1, 1:-1]).sum(axis=(1, 2))
        for shift, axis in ((1, 1), (-1, 1), (1, 2), (-1, 2))
    )
    area = ink.sum(axis=(1, 2))
    return {
        "ink_mass": mass,
        "ink_height": _extent(rows),
        "ink_width": _extent(columns),
        "centre_offset_x": np.where(mass > 0, centre_x - 13.5, 0.0),
        "centre_offset_y": np.where(mass > 0, centre_y - 13.5, 0.0),
        "stroke_width": np.where(outline > 0, 2.0 * area / np.maximum(outline, 1), 0.0),
        "mean_intensity": pixels.mean(axis=(1, 2)),
        "max_intensity": pixels.max(axis=(1, 2)),
    }


def _extent(occupied: np.ndarray) -> np.ndarray:
    """How many pixels from the first occupied row (or column) to the last, 0 when none."""
    first = occupied.argmax(axis=1)
    last = occupied.shape[1] - 1 - occupied[:, ::-1].argmax(axis=1)
    return np.where(occupied.any(axis=1), last - first + 1, 0).astype(np.float64)
