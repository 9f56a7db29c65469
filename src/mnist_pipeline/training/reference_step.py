"""The seed's training step in plain TensorFlow 2, for both networks: read this first.

One step on a batch ``(x, labels)`` at global step ``s``, with TensorFlow's and Keras' own
schedule and moving average, as the seed used them in TF1:

    loss = mean(sparse_softmax_cross_entropy(labels, logits(x)))
           + regularization_rate * (l2_loss of the regularised weights)  # sum(w**2) / 2
    v  <- v - learning_rate(s) * d(loss)/dv                    # every weight: plain SGD
    av <- av - (1 - ema_decay(s)) * (av - v)                   # its moving average

    learning_rate(s) = learning_rate_base * learning_rate_decay ** (s / decay_steps)
                       (keras.optimizers.schedules.ExponentialDecay, as TF1's exponential_decay)
    ema_decay(s)     = min(moving_average_decay, (1 + s) / (10 + s))
                       (tf.train.ExponentialMovingAverage with num_updates = s)

The networks differ only in their logits, penalty and dropout (:mod:`.mlp`,
:mod:`.lenet5`). Select this step for the MLP with ``train.implementation: reference``;
LeNet-5 always trains with it. :mod:`.fused_steps` computes the MLP's step much faster
from the schedules of :mod:`.schedules`; the tests check the two against each other and
both against NumPy, so each side's schedules are checked by independent code.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .augmentation import Augmentation
from .averaged import AveragedNetwork
from .schedules import Schedule


@tf.function
def train_step(network, x, labels, learning_rate_schedule) -> tf.Tensor:
    """One SGD step on the regularised loss, then the moving averages; the cross-entropy."""
    learning_rate = learning_rate_schedule(network.global_step)
    with tf.GradientTape() as tape:
        cross_entropy = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=network.training_logits(x)
            )
        )
        loss = cross_entropy + network.l2_penalty()
    gradients = tape.gradient(loss, network.weights)
    for weight, gradient in zip(network.weights, gradients, strict=True):
        weight.assign_sub(learning_rate * gradient)
    network.moving_average.apply(network.weights)  # num_updates: the step before this one ends
    network.global_step.assign_add(1)
    return cross_entropy


class ReferenceTrainer:
    """Runs :func:`train_step` once per step, for the training loop (:mod:`.loop`)."""

    def __init__(
        self,
        network: AveragedNetwork,
        x: np.ndarray,
        labels: np.ndarray,
        schedule: Schedule,
        augmentation: Augmentation | None = None,
    ) -> None:
        """Keep the training set (``x``, class ids ``labels``) as tensors; ``augmentation``
        distorts each step's batch."""
        self.network = network
        self.x = tf.constant(x, tf.float32)
        self.labels = tf.constant(labels, tf.int32)
        self.augmentation = (
            tf.function(augmentation.__call__, reduce_retracing=True)
            if augmentation is not None and augmentation.enabled
            else None
        )
        self.learning_rate_schedule = keras.optimizers.schedules.ExponentialDecay(
            schedule.learning_rate_base,
            schedule.decay_steps,
            schedule.learning_rate_decay,
            staircase=schedule.staircase,
        )

    def _batch(self, rows: np.ndarray, step: int) -> tf.Tensor:
        """The images of step ``step``, distorted when augmenting."""
        x = tf.gather(self.x, rows)
        if self.augmentation is None:
            return x
        return self.augmentation(x, tf.constant(step, tf.int64))

    def learning_rate(self, step: int) -> float:
        """The learning rate of step ``step``."""
        return float(self.learning_rate_schedule(tf.constant(step, tf.int64)))

    def train_steps(self, batch_indices: np.ndarray) -> float:
        """Run ``len(batch_indices)`` steps from the network's global step; return the mean
        cross-entropy of their batches plus the L2 penalty after the last one (as
        :class:`.fused_steps.FusedTrainer`)."""
        first = int(self.network.global_step.numpy())
        cross_entropies = [
            train_step(
                self.network,
                self._batch(rows, first + offset),
                tf.gather(self.labels, rows),
                self.learning_rate_schedule,
            )
            for offset, rows in enumerate(batch_indices)
        ]
        return float(tf.reduce_mean(cross_entropies)) + float(self.network.l2_penalty())
