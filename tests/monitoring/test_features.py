"""The numbers that describe an image, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_pipeline.monitoring.features import FEATURES, image_features


def _images() -> np.ndarray:
    images = np.zeros((4, 28, 28), np.uint8)
    images[1, 4:24, 13:15] = 255  # a bar 20 high, 2 wide, centred
    images[2, 10:12, 10:12] = 255  # a 2x2 square, up and left of the centre
    images[3, 0, 0] = 20  # faint (under the ink level): mass, but no ink box
    return images


def test_features_worked_out_by_hand():
    table = image_features(_images())
    assert list(table.columns) == FEATURES
    empty, bar, square, faint = (table.iloc[i] for i in range(4))
    assert empty.to_dict() == dict.fromkeys(FEATURES, 0.0)
    # The bar: 40 full pixels; outline 2 x 20 + 2 x 2 = 44 sides, so 2 x 40 / 44.
    assert bar["ink_mass"] == 40
    assert (bar["ink_height"], bar["ink_width"]) == (20, 2)
    assert (bar["centre_offset_x"], bar["centre_offset_y"]) == (0, 0)
    assert bar["stroke_width"] == pytest.approx(80 / 44)
    assert bar["mean_intensity"] == pytest.approx(40 / 784)
    assert bar["max_intensity"] == 1.0
    # The square's centre is at (10.5, 10.5): 3 pixels up and left of 13.5.
    assert (square["centre_offset_x"], square["centre_offset_y"]) == (-3, -3)
    assert (square["ink_height"], square["ink_width"], square["stroke_width"]) == (2, 2, 1)
    # A faint pixel weighs in the mass and the centre, not in the ink box.
    assert faint["ink_mass"] == pytest.approx(20 / 255)
    assert (faint["ink_height"], faint["ink_width"], faint["stroke_width"]) == (0, 0, 0)
    assert faint["centre_offset_x"] == -13.5


def test_a_thicker_stroke_reads_wider_and_a_rotated_one_changes_its_box():
    thin = np.zeros((1, 28, 28), np.uint8)
    thin[0, 4:24, 13:15] = 255
    thick = np.zeros((1, 28, 28), np.uint8)
    thick[0, 4:24, 11:17] = 255
    lying = np.swapaxes(thin, 1, 2)
    table = image_features(np.concatenate([thin, thick, lying]))
    assert table.loc[1, "stroke_width"] > 2 * table.loc[0, "stroke_width"]
    assert (table.loc[2, "ink_height"], table.loc[2, "ink_width"]) == (2, 20)
