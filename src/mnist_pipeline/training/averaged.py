"""What both networks keep: their weights, a moving average of each, the global step.

The seed's machinery is the same for the MLP (:mod:`.mlp`) and LeNet-5 (:mod:`.lenet5`):
the averages are TensorFlow's own ``tf.train.ExponentialMovingAverage`` with the global
step as ``num_updates`` (decay ``min(moving_average_decay, (1 + s) / (10 + s))``), each
starting at its weight's initial value, and evaluation uses them. The plain step
(:mod:`.reference_step`) updates them through it; the fused step (:mod:`.fused_steps`)
writes the same variables with its own arithmetic. A checkpoint holds all of them by
name (:meth:`AveragedNetwork.state`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import tensorflow as tf

from mnist_pipeline.parameters import TrainParameters

from .precision import compute_dtype

AVERAGE_PREFIX = "average_"
STEP_NAME = "global_step"


class AveragedNetwork(tf.Module):
    """A network's weights (in :attr:`weight_names` order), their averages, the step.

    Subclasses define the network: :meth:`training_logits` (as in training, dropout
    included) and :meth:`l2_penalty`.
    """

    weight_names: ClassVar[tuple[str, ...]]

    def __init__(self, name: str, initial: dict[str, tf.Tensor], config: TrainParameters) -> None:
        """Create the weights from their ``initial`` values; the averages start equal."""
        super().__init__(name=name)
        self.weights = [tf.Variable(initial[n], name=n) for n in self.weight_names]
        self.global_step = tf.Variable(0, dtype=tf.int64, name=STEP_NAME, trainable=False)
        self.moving_average = tf.train.ExponentialMovingAverage(
            config.moving_average_decay, num_updates=self.global_step
        )
        self.moving_average.apply(self.weights)  # creates the averages (a no-op update)
        self.averages = [self.moving_average.average(w) for w in self.weights]
        self.regularization_rate = float(config.regularization_rate)
        self.compute_dtype = compute_dtype(config.precision)  # of the training products

    def training_logits(self, x: tf.Tensor) -> tf.Tensor:
        """The logits of a training batch, with the current weights."""
        raise NotImplementedError

    def l2_penalty(self) -> tf.Tensor:
        """``regularization_rate`` x ``l2_loss`` of the regularised weights."""
        raise NotImplementedError

    def state(self) -> dict[str, np.ndarray]:
        """All variables as ``{name: array}``: what a checkpoint holds."""
        names = self.weight_names
        arrays = {name: w.numpy() for name, w in zip(names, self.weights, strict=True)}
        arrays.update(
            {AVERAGE_PREFIX + n: a.numpy() for n, a in zip(names, self.averages, strict=True)}
        )
        arrays[STEP_NAME] = np.asarray(self.global_step.numpy(), dtype=np.int64)
        return arrays
