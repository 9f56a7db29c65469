"""A shifted copy of a split: its digits as other hands might have written them.

Each image is redrawn once, by draws from a generator seeded by ``preprocess.shifted.seed``
(so the copy is the same in every run): its strokes thicker or thinner (SciPy's grey
dilation or erosion), slanted (a shear), turned, resized and moved (one affine map about
the centre), and wobbled (a Gaussian-smoothed random displacement field, as Simard et al.
2003 distort digits), all resampled bilinearly in one pass (SciPy's ``map_coordinates``).
Its labels are the split's.

It measures how well a model reads digits distorted *in these ways*, which is what a
person's handwriting shows; it says nothing of how well it reads other writers, other
pens or other scanners, which no transform of MNIST can stand in for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mnist_pipeline.parameters import Distortions, ShiftedParameters


def shifted_image(
    image: np.ndarray, rng: np.random.Generator, strengths: Distortions
) -> np.ndarray:
    """``image`` (side x side, values in [0, 1]) with one random draw of each distortion,
    up to its strength."""
    from scipy import ndimage  # noqa: PLC0415

    side = image.shape[0]
    amount = rng.uniform(-1, 1) * strengths.stroke_width
    grown = (ndimage.grey_dilation if amount > 0 else ndimage.grey_erosion)(image, size=(3, 3))
    image = image + abs(amount) * (grown - image)
    angle = np.radians(rng.uniform(-1, 1) * strengths.rotation_degrees)
    shear = np.tan(np.radians(rng.uniform(-1, 1) * strengths.shear_degrees))
    zoom = 1.0 + rng.uniform(-1, 1) * strengths.scale
    shift = rng.uniform(-1, 1, 2) * strengths.translation_pixels
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    sampling = rotation @ np.array([[1.0, 0.0], [shear, 1.0]]) / zoom  # (y, x) order
    centre = (side - 1) / 2
    grid = np.indices((side, side)).reshape(2, -1) - centre
    source = sampling @ grid - shift[:, np.newaxis] + centre
    if strengths.elastic_alpha > 0:
        noise = rng.uniform(-1, 1, (2, side, side))
        field = ndimage.gaussian_filter(
            noise,
            sigma=(0, strengths.elastic_sigma, strengths.elastic_sigma),
            mode="constant",
        )
        field *= strengths.elastic_alpha / max(np.abs(field).max(), 1e-12)
        source = source + field.reshape(2, -1)
    moved = ndimage.map_coordinates(image, source, order=1, mode="constant", cval=0.0)
    return np.clip(moved.reshape(side, side), 0.0, 1.0)


def shifted_split(x: np.ndarray, shifted: Mapping[str, Any]) -> np.ndarray:
    """The rows of ``x`` (flattened square images in [0, 1]) each redrawn by
    :func:`shifted_image`, from the generator seeded by ``shifted["seed"]`` (a strength
    not given is 0)."""
    settings = ShiftedParameters.model_validate(dict(shifted))
    rng = np.random.default_rng(settings.seed)
    side = int(round(np.sqrt(x.shape[1])))
    images = x.reshape(-1, side, side)
    out = np.stack([shifted_image(image, rng, settings) for image in images]) if len(x) else images
    return out.reshape(len(x), -1).astype(np.float32)
