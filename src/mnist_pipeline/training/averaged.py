"""What both networks keep: their trainable variables, a moving average of each, the step.

The seed's machinery is the same for the MLP (:mod:`.mlp`) and LeNet-5 (:mod:`.lenet5`):
every trainable variable has a moving average that starts at the variable's initial
value (as TF1's ``ExponentialMovingAverage``), and evaluation uses the averages. A
checkpoint holds all of them, by name (:meth:`AveragedVariables.state`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import tensorflow as tf

from .config import TrainingConfig
from .precision import compute_dtype

SHADOW_PREFIX = "average_"
STEP_NAME = "global_step"


class AveragedVariables(tf.Module):
    """A network's variables (in :attr:`variable_names` order), their averages, the step."""

    variable_names: ClassVar[tuple[str, ...]]

    def __init__(self, name: str, initial: dict[str, tf.Tensor], config: TrainingConfig) -> None:
        """Create the variables from their ``initial`` values; the averages start equal."""
        super().__init__(name=name)
        self.variables_ = [tf.Variable(initial[n], name=n) for n in self.variable_names]
        self.shadows = [
            tf.Variable(initial[n], name=SHADOW_PREFIX + n, trainable=False)
            for n in self.variable_names
        ]
        self.global_step = tf.Variable(0, dtype=tf.int64, name=STEP_NAME, trainable=False)
        self.regularization_rate = float(config.regularization_rate)
        self.compute_dtype = compute_dtype(config.precision)  # of the training products

    def state(self) -> dict[str, np.ndarray]:
        """All variables as ``{name: array}``: what a checkpoint holds."""
        names = self.variable_names
        arrays = {name: v.numpy() for name, v in zip(names, self.variables_, strict=True)}
        arrays.update(
            {SHADOW_PREFIX + name: s.numpy() for name, s in zip(names, self.shadows, strict=True)}
        )
        arrays[STEP_NAME] = np.asarray(self.global_step.numpy(), dtype=np.int64)
        return arrays

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Set every variable from a :meth:`state` mapping (shapes must match)."""
        for name, var in zip(self.variable_names, self.variables_, strict=True):
            var.assign(state[name])
        for name, shadow in zip(self.variable_names, self.shadows, strict=True):
            shadow.assign(state[SHADOW_PREFIX + name])
        self.global_step.assign(int(state[STEP_NAME]))
