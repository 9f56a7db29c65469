"""Training-time distortions of handwritten digits: what other people's writing does to one.

Every training batch is distorted anew at every step (``train.augmentation``; all off by
default, when the seed's procedure trains on the images as they are):

- the **stroke width**: thicker or thinner, each image by a random amount up to
  ``stroke_width`` of the way to its grey dilation or erosion by a 3x3 square (a max pool);
- an **affine** map about the image's centre: a rotation of up to ``rotation_degrees``
  either way, a scale of 1 +/- ``scale``, a horizontal shear of up to ``shear_degrees``
  (a slant) and a shift of up to ``translation_pixels`` in each direction;
- an **elastic distortion** (Simard et al. 2003): a field of uniform noise in [-1, 1]
  smoothed by a Gaussian of ``elastic_sigma`` pixels and scaled by ``elastic_alpha``
  pixels displaces every pixel; each image takes one field of a bank of fields made once
  from the seed, rather than one made (and smoothed) per image and step.

The affine map and the displacement are applied together, by one bilinear resampling of
each image (Keras' ``ops.image.map_coordinates``, pixels outside the image being 0).
Everything a step draws comes from TensorFlow's stateless random ops seeded by
``(seed, step)``, so a resumed run distorts every batch as the interrupted one would have.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from scipy import ndimage

from mnist_pipeline.parameters import AugmentationParameters

#: Smooth displacement fields made once per run (Simard's; each image picks one).
FIELD_BANK = 512
#: Salts that give each kind of draw of a step its own random stream.
_STROKE, _AFFINE, _FIELD = 1, 2, 3


def elastic_fields(side: int, sigma: float, seed: int, count: int = FIELD_BANK) -> np.ndarray:
    """``count`` displacement fields (count, 2, side, side): uniform noise in [-1, 1],
    smoothed by a Gaussian of ``sigma`` pixels and scaled to a largest value of 1, so
    that ``elastic_alpha`` is the largest displacement in pixels."""
    noise = np.random.default_rng([seed, _FIELD]).uniform(-1, 1, (count, 2, side, side))
    smooth = ndimage.gaussian_filter(noise, sigma=(0, 0, sigma, sigma), mode="constant")
    smooth /= np.abs(smooth).max(axis=(1, 2, 3), keepdims=True)
    return smooth.astype(np.float32)


class Augmentation:
    """Distorts batches of flattened square images (rows of pixels in [0, 1]) as the
    settings say; ``None`` settings or all strengths 0 leave them as they are."""

    def __init__(self, settings: AugmentationParameters, side: int, seed: int) -> None:
        """Keep the strengths; make the bank of elastic fields when they are used."""
        self.settings, self.side, self.seed = settings, side, seed
        self.enabled = settings.enabled
        self._fields = (
            tf.constant(elastic_fields(side, settings.elastic_sigma, seed))
            if settings.elastic_alpha > 0
            else None
        )
        centre = (side - 1) / 2
        grid_y, grid_x = np.meshgrid(
            np.arange(side) - centre, np.arange(side) - centre, indexing="ij"
        )
        self._grid = tf.constant(np.stack([grid_y, grid_x]).astype(np.float32))  # (2, side, side)
        self._centre = centre

    def __call__(self, flat_images: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """The batch of step ``step`` (a scalar tensor), distorted."""
        if not self.enabled:
            return flat_images
        count = tf.shape(flat_images)[0]
        images = tf.reshape(flat_images, [count, self.side, self.side])
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
        images = self._stroke(images, seed)
        images = self._resample(images, seed, count)
        return tf.reshape(tf.clip_by_value(images, 0.0, 1.0), [count, self.side * self.side])

    def _uniform(self, seed: tf.Tensor, salt: int, shape, low: float, high: float) -> tf.Tensor:
        return tf.random.stateless_uniform(
            shape, seed=seed + tf.constant([0, salt * 1_000_003], tf.int64), minval=low, maxval=high
        )

    def _stroke(self, images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Each image moved a random part of the way (up to ``stroke_width``) towards its
        3x3 dilation (thicker strokes) or erosion (thinner), one or the other at random."""
        strength = self.settings.stroke_width
        if strength == 0:
            return images
        count = tf.shape(images)[0]
        amount = self._uniform(seed, _STROKE, [count, 1, 1], -strength, strength)
        padded = images[..., tf.newaxis]
        thicker = tf.nn.max_pool2d(padded, 3, 1, "SAME")[..., 0]
        thinner = -tf.nn.max_pool2d(-padded, 3, 1, "SAME")[..., 0]
        toward = tf.where(amount > 0, thicker, thinner)
        return images + tf.abs(amount) * (toward - images)

    def _resample(self, images: tf.Tensor, seed: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
        """One bilinear resampling: each output pixel reads the input at its affine image
        plus its elastic displacement."""
        settings = self.settings
        if not (settings.affine or self._fields is not None):
            return images
        draws = self._uniform(seed, _AFFINE, [count, 6], -1.0, 1.0)
        angle = draws[:, 0] * math.radians(settings.rotation_degrees)
        zoom = 1.0 + draws[:, 1] * settings.scale
        shear = tf.tan(draws[:, 2] * math.radians(settings.shear_degrees))
        shift = draws[:, 3:5] * settings.translation_pixels
        # Output pixel p (about the centre) reads the input at M p - shift, where
        # M = rotation(angle) @ shear(slant: x moves with y) / zoom, in (y, x) order.
        cos, sin = tf.cos(angle), tf.sin(angle)
        m_yy, m_yx = (cos - sin * shear) / zoom, -sin / zoom
        m_xy, m_xx = (sin + cos * shear) / zoom, cos / zoom
        grid_y, grid_x = self._grid[0][tf.newaxis], self._grid[1][tf.newaxis]

        def per_image(value):
            return value[:, tf.newaxis, tf.newaxis]

        source_y = per_image(m_yy) * grid_y + per_image(m_yx) * grid_x - per_image(shift[:, 0])
        source_x = per_image(m_xy) * grid_y + per_image(m_xx) * grid_x - per_image(shift[:, 1])
        if self._fields is not None:
            picks = tf.cast((draws[:, 5] + 1.0) / 2.0 * (FIELD_BANK - 1), tf.int32)
            fields = tf.gather(self._fields, picks) * settings.elastic_alpha
            source_y += fields[:, 0]
            source_x += fields[:, 1]
        batch = tf.broadcast_to(
            tf.cast(tf.range(count), tf.float32)[:, tf.newaxis, tf.newaxis], tf.shape(source_y)
        )
        coordinates = tf.stack([batch, source_y + self._centre, source_x + self._centre])
        return keras.ops.image.map_coordinates(images, coordinates, order=1, fill_mode="constant")
