"""The fused SGD + L2 + moving-average coefficients reproduce the seed's two updates."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_pipeline.training.fused_update import (
    MIN_AVERAGE_SCALE,
    fused_coefficients,
    stretches,
)
from mnist_pipeline.training.schedules import ema_decays, learning_rates

REG = 1e-4


def _plain(weights, averages, gradients, lr, decay, keep):
    """The seed's updates, literally: SGD with L2 decay, then the moving average."""
    for g, rate, d, r in zip(gradients, lr, decay, keep, strict=True):
        weights = r * weights - rate * g
        averages = d * averages + (1 - d) * weights
    return weights, averages


def _fused(weights, averages, gradients, coefficients, decay_weights: bool):
    """What the loop's ResourceApplyMomentum(var=Q, accum=P, grad=c*h) calls do with the
    (float32) coefficients, in float64 so that only the coefficients' rounding shows."""
    p, q = weights.copy(), averages.copy()
    for g, row in zip(gradients, coefficients.per_step.astype(np.float64), strict=True):
        _, _, momentum, gradient_scale, bias_gradient_ratio, weight_rate, bias_rate = row
        if decay_weights:
            p = momentum * p - gradient_scale * g
            q = q - weight_rate * p
        else:
            p = momentum * p - gradient_scale * bias_gradient_ratio * g
            q = q - bias_rate * p
    scale = coefficients.final_weight_scale if decay_weights else coefficients.final_bias_scale
    return scale * p, coefficients.final_average_scale * q


@pytest.mark.parametrize("first_step", [0, 7, 5_000, 19_000])
@pytest.mark.parametrize("decay_weights", [True, False])
def test_fused_buffers_follow_sgd_with_l2_and_the_moving_average(first_step, decay_weights):
    rng = np.random.default_rng(first_step)
    steps = np.arange(first_step, first_step + 1_000)
    lr = learning_rates(steps, 0.8, 0.99, 55_000)
    decay = ema_decays(steps, 0.99)
    weights, averages = rng.normal(size=(2, 6, 5))
    gradients = rng.normal(scale=0.1, size=(len(steps), 6, 5))
    keep = 1 - lr.astype(np.float64) * (REG if decay_weights else 0.0)

    expected = _plain(
        weights, averages, gradients, lr.astype(np.float64), decay.astype(np.float64), keep
    )
    coefficients = fused_coefficients(lr, decay, REG)
    got = _fused(weights, averages, gradients, coefficients, decay_weights)

    # Float64 arithmetic, float32 coefficients: a compounding rounding of the momentum
    # would show here as a drift of ~1e-5 after 1,000 steps (seen before alpha tracked it).
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-6, atol=1e-6)


def test_weights_without_gradient_follow_decay_and_average_in_closed_form():
    steps = np.arange(0, 1_000)
    lr, decay = learning_rates(steps, 0.8, 0.99, 55_000), ema_decays(steps, 0.99)
    weights, averages = np.random.default_rng(3).normal(size=(2, 4, 3))
    keep = 1 - lr.astype(np.float64) * REG
    expected = _plain(
        weights,
        averages,
        np.zeros((len(steps), 4, 3)),
        lr.astype(np.float64),
        decay.astype(np.float64),
        keep,
    )
    c = fused_coefficients(lr, decay, REG)
    np.testing.assert_allclose(c.idle_weight_factor * weights, expected[0], rtol=1e-12)
    np.testing.assert_allclose(
        c.final_average_scale * averages + c.idle_average_from_weight * weights,
        expected[1],
        rtol=1e-9,
        atol=1e-12,
    )


def test_scales_start_at_one_and_follow_the_learning_rate():
    lr = np.array([0.8, 0.7, 0.6], np.float32)
    coefficients = fused_coefficients(lr, np.full(3, 0.5, np.float32), REG)
    np.testing.assert_allclose(coefficients.per_step[:, 0], [1.0, 0.8, 0.7], rtol=1e-6)
    np.testing.assert_allclose(coefficients.per_step[:, 3], 1.0, rtol=1e-6)  # c ~ 1
    assert coefficients.final_weight_scale == pytest.approx(0.6)
    assert coefficients.final_bias_scale == pytest.approx(0.6, rel=1e-3)  # no L2 decay
    assert coefficients.final_average_scale == pytest.approx(0.125)


def test_rejects_rates_and_decays_that_the_fused_form_cannot_carry():
    with pytest.raises(ValueError, match="positive"):
        fused_coefficients(np.array([0.8, 0.0]), np.array([0.5, 0.5]), REG)
    with pytest.raises(ValueError, match="positive"):
        fused_coefficients(np.array([0.8]), np.array([0.0]), REG)
    with pytest.raises(ValueError, match="stretches"):
        fused_coefficients(np.full(31, 0.8), np.full(31, 0.1), REG)


def test_stretches_cover_every_step_once_and_keep_the_average_scale_in_range():
    decay = ema_decays(np.arange(0, 5_000), 0.99)
    pieces = stretches(decay, max_length=1_000)
    assert (pieces[0].start, pieces[0].stop) == (0, 1_000)  # beta ~4e-22 at step 1,000
    assert np.concatenate([np.arange(5_000)[p] for p in pieces]).tolist() == list(range(5_000))
    assert all(p.stop - p.start <= 1_000 for p in pieces)
    for piece in pieces:
        assert np.prod(decay[piece].astype(np.float64)) >= MIN_AVERAGE_SCALE

    small = stretches(np.full(100, 0.1), max_length=1_000)
    assert [p.stop - p.start for p in small] == [30] * 3 + [10]
    assert stretches(np.array([], np.float32), 10) == []
