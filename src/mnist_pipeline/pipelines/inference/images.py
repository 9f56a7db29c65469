"""Make any image of one digit MNIST-like: the one preparation of a user's image, for
``predict``, the served model and the drawing page alike.

MNIST's digits were made from scanned handwriting: grey levels with white ink on black,
cropped to the ink, scaled (anti-aliased) so that the longer side is 20 pixels keeping
the aspect ratio, then placed in a 28x28 field so that the centre of mass of the ink is
at its centre. :func:`mnist_like` does the same to any image, whatever its size, colour
mode and polarity, so that the model sees what it was trained on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from mnist_pipeline.errors import UserFacingError

#: The side of an MNIST image, in pixels.
IMAGE_SIDE = 28


class NoInkError(UserFacingError, ValueError):
    """The image holds no stroke that stands out from its background."""


def _grey_levels(image: Image.Image) -> np.ndarray:
    """Luminance 0..255 as float64; transparent parts count as white paper."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    if image.mode in ("I", "I;16", "F"):
        levels = np.asarray(image, dtype=np.float64)
        top = levels.max()
        return levels * (255.0 / top) if top > 255 else levels
    return np.asarray(image.convert("L"), dtype=np.float64)


def _ink(levels: np.ndarray, min_contrast: float) -> np.ndarray:
    """Ink intensity 0..255 on a black background: inverted when the paper is light."""
    border = np.concatenate([levels[0], levels[-1], levels[:, 0], levels[:, -1]])
    if np.median(border) > 127.5:
        levels = 255.0 - levels
        border = 255.0 - border
    background = float(np.median(border))
    strongest = float(levels.max())
    if strongest - background < min_contrast:
        raise NoInkError(
            f"no ink: nothing stands out from the background by {min_contrast:g} grey "
            "levels or more (is the image blank?)"
        )
    return np.clip((levels - background) * (255.0 / (strongest - background)), 0.0, 255.0)


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, columns = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((columns * image).sum() / total)


def mnist_like(
    image: Image.Image, box_size: int = 20, ink_threshold: float = 0.2, min_contrast: float = 40
) -> np.ndarray:
    """One image of any size and mode as a (28, 28) uint8 MNIST digit (white on black).

    Args:
        image: The picture of one digit.
        box_size: The side, in pixels, of the box the digit is scaled into (MNIST: 20).
        ink_threshold: Fraction of the strongest ink that counts when cropping to the
            ink, so that faint specks and paper texture do not widen the crop.
        min_contrast: Grey levels (of 255) the ink must stand out from the background.

    Raises:
        NoInkError: when nothing stands out from the background.
    """
    ink = _ink(_grey_levels(image), min_contrast)
    inked = ink > 255.0 * ink_threshold
    rows = np.flatnonzero(inked.any(axis=1))
    columns = np.flatnonzero(inked.any(axis=0))
    digit = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    scale = box_size / max(digit.shape)
    height = max(1, round(digit.shape[0] * scale))
    width = max(1, round(digit.shape[1] * scale))
    resized = Image.fromarray(digit.astype(np.float32), mode="F").resize(
        (width, height), Image.Resampling.LANCZOS
    )
    scaled = np.clip(np.asarray(resized, dtype=np.float64), 0.0, 255.0)
    centre_row, centre_column = _centre_of_mass(scaled)
    middle = IMAGE_SIDE / 2  # where MNIST put the centre of mass (0-based pixel rows)
    top = int(np.clip(round(middle - centre_row), 0, IMAGE_SIDE - height))
    left = int(np.clip(round(middle - centre_column), 0, IMAGE_SIDE - width))
    field = np.zeros((IMAGE_SIDE, IMAGE_SIDE))
    field[top : top + height, left : left + width] = scaled
    return np.rint(field).astype(np.uint8)


def _root_cause(exc: BaseException) -> str:
    """The innermost error's message: Pillow's words, not the dataset wrapper's."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, UnidentifiedImageError):
        return "its contents are in no image format Pillow reads"
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def mnist_like_or_error(
    open_image: Callable[[], Image.Image], parameters: Mapping[str, Any]
) -> tuple[np.ndarray | None, str]:
    """:func:`mnist_like` of the image ``open_image`` gives, or why it cannot be made:
    the one preparation of a user's image, for ``predict`` and the served model alike."""
    try:
        return mnist_like(open_image(), **parameters), ""
    except NoInkError as exc:
        return None, str(exc)
    except UserFacingError:  # a request that cannot be answered at all (too large, ...)
        raise
    except Exception as exc:  # noqa: BLE001 (Pillow raises many types for a bad file)
        return None, f"not a readable PNG, JPEG or BMP image ({_root_cause(exc)})"
