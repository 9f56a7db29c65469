"""Images that are not digits, made by a program: what "not a digit" is measured on beside
Fashion-MNIST.

- letters: capital and small letters that no digit is written like, in the serif, sans
  and monospace faces matplotlib ships (the same on every machine);
- scribbles: random strokes of a pen about MNIST's width;
- noise: random pixels.

Letters and scribbles are drawn white on black, cropped to their ink, scaled so that the
longer side is 20 pixels and centred by their mass in 28x28: MNIST's own preparation of a
digit, so that only their shape tells them from digits. All from one seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Letters no digit is written like (not O o I l i Z z S s B G g q b Q T).
LETTERS = "ACDEFHJKLMNPRUVWXYacdefhkmnprtuvwxy"
#: matplotlib's fonts (shipped with it, so the same on every machine).
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")
SIDE, BOX = 28, 20


def _mnist_like(canvas: np.ndarray) -> np.ndarray:
    """A white-on-black drawing cropped to its ink, its longer side scaled to 20 pixels and
    centred by its centre of mass in 28x28, as MNIST was made."""
    from PIL import Image  # noqa: PLC0415
    from scipy import ndimage  # noqa: PLC0415

    rows, columns = np.nonzero(canvas > 0.05 * canvas.max())
    crop = canvas[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    scale = BOX / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS), np.float32)
    image = np.zeros((SIDE, SIDE), np.float32)
    top, left = (SIDE - small.shape[0]) // 2, (SIDE - small.shape[1]) // 2
    image[top : top + small.shape[0], left : left + small.shape[1]] = small
    centre_y, centre_x = ndimage.center_of_mass(image)
    image = ndimage.shift(image, (SIDE / 2 - 0.5 - centre_y, SIDE / 2 - 0.5 - centre_x), order=1)
    return np.clip(image / max(image.max(), 1e-6), 0.0, 1.0)


def _letter(letter: str, font_file: str) -> np.ndarray:
    import matplotlib  # noqa: PLC0415 (where its fonts are)
    from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415

    font = ImageFont.truetype(str(Path(matplotlib.get_data_path(), "fonts", "ttf", font_file)), 96)
    canvas = Image.new("F", (160, 160), 0.0)
    ImageDraw.Draw(canvas).text((20, 10), letter, fill=255.0, font=font)
    return _mnist_like(np.asarray(canvas, np.float32))


def _scribble(rng: np.random.Generator) -> np.ndarray:
    from PIL import Image, ImageDraw  # noqa: PLC0415

    canvas = Image.new("F", (112, 112), 0.0)
    points = [tuple(rng.uniform(12, 100, 2)) for _ in range(int(rng.integers(4, 10)))]
    ImageDraw.Draw(canvas).line(points, fill=255.0, width=int(rng.integers(7, 12)), joint="curve")
    return _mnist_like(np.asarray(canvas, np.float32))


def non_digit_images(count: int, seed: int) -> dict[str, np.ndarray]:
    """Each kind of non-digit as model input rows (flattened, in [0, 1]): every letter in
    every face once, and ``count`` scribbles and ``count`` noise images from ``seed``."""
    rng = np.random.default_rng(seed)
    kinds = {
        "letters": [_letter(letter, font) for font in FONTS for letter in LETTERS],
        "scribbles": [_scribble(rng) for _ in range(count)],
        "noise": list(rng.uniform(0.0, 1.0, (count, SIDE, SIDE))),
    }
    return {
        kind: np.stack(images).reshape(len(images), -1).astype(np.float32)
        for kind, images in kinds.items()
    }
