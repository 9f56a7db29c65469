"""The seed's learning-rate and moving-average schedules, step by step.

Both are computed on the host for a whole chunk of steps at once and handed to the
compiled training loop as arrays, so the loop does no scalar schedule math per step.
"""

from __future__ import annotations

import numpy as np


def learning_rates(
    steps: np.ndarray,
    base: float,
    decay_rate: float,
    decay_steps: int,
    staircase: bool = False,
) -> np.ndarray:
    """``base * decay_rate ** (step / decay_steps)``, as ``tf.train.exponential_decay``.

    With ``staircase`` the exponent is floored, so the rate drops once every
    ``decay_steps`` steps instead of continuously.
    """
    exponent = np.asarray(steps, dtype=np.float64) / decay_steps
    if staircase:
        exponent = np.floor(exponent)
    return (base * decay_rate**exponent).astype(np.float32)


def ema_decays(steps: np.ndarray, decay: float) -> np.ndarray:
    """``min(decay, (1 + step) / (10 + step))``: TF1's ``ExponentialMovingAverage`` with
    ``num_updates``, which lets the average follow the weights quickly while they move fast."""
    steps = np.asarray(steps, dtype=np.float64)
    return np.minimum(decay, (1.0 + steps) / (10.0 + steps)).astype(np.float32)
