"""The seed's schedules and batch order (NumPy only: no TensorFlow needed)."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_pipeline.training.batches import EpochShuffler
from mnist_pipeline.training.schedules import ema_decays, learning_rates

STEPS = np.array([0, 1, 10, 1000, 55_000])


def test_learning_rate_decays_continuously_over_the_training_set_size():
    expected = [0.8 * 0.99 ** (s / 55_000) for s in STEPS]
    np.testing.assert_allclose(learning_rates(STEPS, 0.8, 0.99, 55_000), expected, rtol=1e-6)
    assert learning_rates(np.array([55_000]), 0.8, 0.99, 55_000)[0] == pytest.approx(0.792)


def test_learning_rate_staircase_drops_once_per_period():
    rates = learning_rates(np.array([0, 549, 550, 1099, 1100]), 0.8, 0.99, 550, staircase=True)
    np.testing.assert_allclose(rates, [0.8, 0.8, 0.792, 0.792, 0.8 * 0.99**2], rtol=1e-6)


def test_ema_decay_follows_tf1_num_updates():
    expected = [min(0.99, (1 + s) / (10 + s)) for s in STEPS]
    np.testing.assert_allclose(ema_decays(STEPS, 0.99), expected, rtol=1e-6)
    assert ema_decays(np.array([0]), 0.99)[0] == pytest.approx(0.1)
    assert ema_decays(np.array([10]), 0.99)[0] == pytest.approx(11 / 20)
    assert ema_decays(np.array([1000]), 0.99)[0] == pytest.approx(0.99)


def test_each_epoch_visits_every_example_once_in_a_fresh_order():
    shuffler = EpochShuffler(num_examples=50, batch_size=10, seed=3)
    indices = shuffler.batch_indices(0, 10)  # two epochs
    assert indices.shape == (10, 10)
    first, second = indices[:5].ravel(), indices[5:].ravel()
    assert sorted(first) == list(range(50)) == sorted(second)
    assert not np.array_equal(first, second)


def test_batches_span_epochs_like_next_batch():
    shuffler = EpochShuffler(num_examples=25, batch_size=10, seed=0)
    stream = np.concatenate([shuffler.permutation(0), shuffler.permutation(1)])
    np.testing.assert_array_equal(shuffler.batch_indices(0, 5).ravel(), stream[:50])
    np.testing.assert_array_equal(shuffler.batch_indices(2, 1)[0], stream[20:30])


def test_any_range_of_steps_is_reproducible_from_the_seed():
    whole = EpochShuffler(1000, 100, seed=7).batch_indices(0, 40)
    part = EpochShuffler(1000, 100, seed=7).batch_indices(17, 9)
    np.testing.assert_array_equal(part, whole[17:26])
    other = EpochShuffler(1000, 100, seed=8).batch_indices(0, 40)
    assert not np.array_equal(whole, other)
