"""The seed's learning-rate and moving-average schedules, step by step, in NumPy.

The fused step (:mod:`.fused_steps`) takes both for a whole chunk of steps at once, as
arrays, so its compiled loop does no scalar schedule math per step. The plain step
(:mod:`.reference_step`) uses Keras' and TensorFlow's own schedules instead, so that the
tests comparing the two steps also check this module against library code.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mnist_pipeline.parameters import TrainParameters


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


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The two schedules of one training run."""

    learning_rate_base: float
    learning_rate_decay: float
    decay_steps: int
    staircase: bool
    moving_average_decay: float

    @classmethod
    def of(cls, config: TrainParameters, num_examples: int) -> Schedule:
        """The run's schedules: the rate decays over ``config.decay_steps`` steps, or over
        the number of training examples when that is ``None`` (the seed's choice)."""
        return cls(
            config.learning_rate_base,
            config.learning_rate_decay,
            config.decay_steps or num_examples,
            config.staircase,
            config.moving_average_decay,
        )

    def learning_rates(self, steps: np.ndarray) -> np.ndarray:
        """The learning rate of each of ``steps``."""
        return learning_rates(
            steps,
            self.learning_rate_base,
            self.learning_rate_decay,
            self.decay_steps,
            self.staircase,
        )

    def ema_decays(self, steps: np.ndarray) -> np.ndarray:
        """The moving-average decay after each of ``steps``."""
        return ema_decays(steps, self.moving_average_decay)
