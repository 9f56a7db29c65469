"""Training-time distortions: each seeded by (seed, step) and doing what it says; images
stay in [0, 1]; with every strength 0 the step is the seed's; an augmented run killed and
resumed ends where an uninterrupted one does."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # imports TensorFlow

tf = pytest.importorskip("tensorflow")

from mnist_pipeline.datasets import ResumeCheckpoints  # noqa: E402
from mnist_pipeline.parameters import AugmentationParameters, train_parameters  # noqa: E402
from mnist_pipeline.training.augmentation import Augmentation  # noqa: E402
from mnist_pipeline.training.loop import train  # noqa: E402

from ..conftest import model_input  # noqa: E402

SIDE = 28
EVERYTHING = {
    "rotation_degrees": 15.0,
    "scale": 0.15,
    "shear_degrees": 15.0,
    "translation_pixels": 2.0,
    "stroke_width": 0.6,
    "elastic_alpha": 2.0,
    "elastic_sigma": 4.0,
}


def _augment(images: np.ndarray, step: int, seed: int = 0, **settings) -> np.ndarray:
    augmentation = Augmentation(AugmentationParameters(**settings), SIDE, seed)
    flat = tf.constant(images.reshape(len(images), -1), tf.float32)
    return augmentation(flat, tf.constant(step, tf.int64)).numpy().reshape(images.shape)


def _bar(rows: slice = slice(4, 24), columns: slice = slice(12, 16)) -> np.ndarray:
    """A vertical bar of ink, as a "1" is written."""
    image = np.zeros((1, SIDE, SIDE), np.float32)
    image[0, rows, columns] = 1.0
    return image


def test_every_strength_zero_leaves_the_batch_as_it_is():
    images = np.random.default_rng(0).uniform(0, 1, (5, SIDE, SIDE)).astype(np.float32)
    assert not AugmentationParameters().enabled
    np.testing.assert_array_equal(_augment(images, 3), images)


def test_a_steps_distortions_depend_only_on_the_seed_and_the_step():
    images = np.repeat(_bar(), 4, axis=0)
    first = _augment(images, 7, **EVERYTHING)
    np.testing.assert_array_equal(first, _augment(images, 7, **EVERYTHING))
    assert not np.array_equal(first, _augment(images, 8, **EVERYTHING))
    assert not np.array_equal(first, _augment(images, 7, seed=1, **EVERYTHING))
    # The seed changes the draws themselves, not only the elastic fields it makes.
    affine = {**EVERYTHING, "elastic_alpha": 0.0}
    assert not np.array_equal(_augment(images, 7, **affine), _augment(images, 7, 1, **affine))
    assert not np.array_equal(first[0], first[1])  # each image of a batch its own draw
    assert first.min() >= 0.0 and first.max() <= 1.0


@pytest.mark.parametrize("step", range(5))
def test_distorted_images_stay_in_zero_to_one_and_keep_most_of_their_ink(step):
    images = model_input(train=20, val=1, test=1)["x_train"].reshape(-1, SIDE, SIDE)
    distorted = _augment(images, step, **EVERYTHING)
    assert distorted.min() >= 0.0 and distorted.max() <= 1.0
    mass = distorted.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert (mass > 0.4).all() and (mass < 2.0).all()


def test_a_rotation_turns_the_bar_and_a_shift_moves_it():
    turned = _augment(_bar(), 0, rotation_degrees=90.0)
    # A 90 degree bound draws angles in [-90, 90]: the bar leans, its columns spread.
    assert (turned[0].sum(axis=0) > 0.1).sum() > 4
    moved = _augment(_bar(), 0, translation_pixels=3.0)
    columns = np.flatnonzero(moved[0].sum(axis=0) > 0.5)
    assert moved.sum() == pytest.approx(_bar().sum(), rel=0.2)
    assert abs(columns.mean() - 13.5) <= 3.0 + 1e-6


def test_the_stroke_width_thickens_or_thins_the_ink():
    bars = np.repeat(_bar(), 64, axis=0)
    changed = _augment(bars, 0, stroke_width=1.0)
    mass = changed.sum(axis=(1, 2)) / bars.sum(axis=(1, 2))
    assert mass.max() > 1.2 and mass.min() < 0.8  # some thicker, some thinner


def test_an_elastic_field_moves_pixels_smoothly_by_at_most_its_strength():
    image = np.zeros((1, SIDE, SIDE), np.float32)
    image[0, 14, 14] = 1.0
    moved = _augment(np.repeat(image, 16, axis=0), 0, elastic_alpha=2.0, elastic_sigma=4.0)
    for picture in moved:
        rows, columns = np.nonzero(picture > 1e-6)
        assert len(rows) and np.abs(rows - 14).max() <= 3 and np.abs(columns - 14).max() <= 3
    assert not all(np.array_equal(moved[0], other) for other in moved[1:])


def _arrays():
    data = model_input(train=300, val=60, test=60)
    return [data[k] for k in ("x_train", "y_train", "x_val", "y_val")], (
        data["x_test"],
        data["y_test"],
    )


class _InterruptedError(Exception):
    pass


@pytest.mark.parametrize(
    "settings",
    [
        {"hidden_units": 32, "batch_size": 50},  # the fused step
        {"hidden_units": 32, "batch_size": 50, "implementation": "reference"},
        {
            "model": "lenet5",
            "lenet5": {"conv1_filters": 4, "conv2_filters": 6, "fc_units": 16, "batch_size": 50},
        },
    ],
    ids=["mlp-fused", "mlp-plain", "lenet5"],
)
def test_an_augmented_run_resumed_ends_where_an_uninterrupted_one_does(tmp_path, settings):
    arrays, test_set = _arrays()
    config = train_parameters(
        {**settings, "steps": 12, "eval_every": 6, "augmentation": EVERYTHING}
    )
    whole = train(*arrays, config, ResumeCheckpoints(tmp_path / "a"), test_set=test_set)

    def stop_at_the_end(step, _row):
        if step == 12:
            raise _InterruptedError

    with pytest.raises(_InterruptedError):
        train(*arrays, config, ResumeCheckpoints(tmp_path / "b"), stop_at_the_end)
    resumed = train(*arrays, config, ResumeCheckpoints(tmp_path / "b"), test_set=test_set)
    assert resumed.resumed is not None and resumed.resumed.step == 6
    for name, value in whole.state.items():
        np.testing.assert_array_equal(resumed.state[name], value, err_msg=name)
    assert resumed.test_accuracy == whole.test_accuracy
    plain = train(*arrays, train_parameters({**settings, "steps": 12, "eval_every": 6}))
    last = "average_fc2_biases" if "model" in settings else "average_biases2"
    assert not np.array_equal(plain.state[last], whole.state[last])  # it did distort
