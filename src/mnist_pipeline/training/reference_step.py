"""The seed's training step in plain TensorFlow 2: read this first.

One step on a batch ``(x, labels)`` of the 784-500-10 network, at global step ``s``:

    logits = relu(x @ W1 + b1) @ W2 + b2
    loss = mean(sparse_softmax_cross_entropy(labels, logits))
           + regularization_rate * (l2_loss(W1) + l2_loss(W2))      # l2_loss(w) = sum(w**2) / 2
    v  <- v - learning_rate(s) * d(loss)/dv                          # every variable: plain SGD
    av <- av - (1 - ema_decay(s)) * (av - v)                         # its moving average

    learning_rate(s) = learning_rate_base * learning_rate_decay ** (s / decay_steps)
    ema_decay(s)     = min(moving_average_decay, (1 + s) / (10 + s))  # TF1's num_updates

The two schedules are computed for many steps at once in :mod:`.schedules`; validation,
test and the served model use the averages (:mod:`.mlp`). Select this step with
``train.implementation: reference``. :mod:`.fused_steps` computes the same step much
faster; ``tests/training/test_reference_step.py`` checks that the two agree, and both
against NumPy.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .mlp import AveragedMLP, logits


def mean_cross_entropy(model: AveragedMLP, x: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """The batch's mean softmax cross-entropy against its class ids ``labels``."""
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits(x, *model.variables_, dtype=model.compute_dtype)
        )
    )


def l2_penalty(model: AveragedMLP) -> tf.Tensor:
    """``regularization_rate`` x ``l2_loss`` of the two weight matrices (not the biases)."""
    weights1, _, weights2, _ = model.variables_
    return model.regularization_rate * (tf.nn.l2_loss(weights1) + tf.nn.l2_loss(weights2))


@tf.function
def train_step(model, x, labels, learning_rate, ema_decay) -> tf.Tensor:
    """One SGD step on the regularised loss, then the moving averages; the cross-entropy."""
    with tf.GradientTape() as tape:
        cross_entropy = mean_cross_entropy(model, x, labels)
        loss = cross_entropy + l2_penalty(model)
    gradients = tape.gradient(loss, model.variables_)
    for variable, gradient in zip(model.variables_, gradients, strict=True):
        variable.assign_sub(learning_rate * gradient)
    for average, variable in zip(model.shadows, model.variables_, strict=True):
        average.assign_sub((1.0 - ema_decay) * (average - variable))
    model.global_step.assign_add(1)
    return cross_entropy


class ReferenceTrainer:
    """Runs :func:`train_step` once per step, for the training loop (:mod:`.loop`).

    LeNet-5's trainer is this one with its own ``step`` and ``penalty`` (:mod:`.lenet5`).
    """

    step = staticmethod(train_step)
    penalty = staticmethod(l2_penalty)

    def __init__(self, model, x: np.ndarray, labels: np.ndarray) -> None:
        """Keep the training set (``x``, class ids ``labels``) as tensors."""
        self.model = model
        self.x = tf.constant(x, tf.float32)
        self.labels = tf.constant(labels, tf.int32)

    def train_steps(
        self, batch_indices: np.ndarray, learning_rates: np.ndarray, ema_decays: np.ndarray
    ) -> float:
        """Run ``len(batch_indices)`` steps; return the mean cross-entropy of their batches
        plus the L2 penalty after the last one (as :class:`.fused_steps.FusedTrainer`)."""
        cross_entropies = [
            self.step(
                self.model,
                tf.gather(self.x, rows),
                tf.gather(self.labels, rows),
                tf.constant(rate, tf.float32),
                tf.constant(decay, tf.float32),
            )
            for rows, rate, decay in zip(batch_indices, learning_rates, ema_decays, strict=True)
        ]
        return float(tf.reduce_mean(cross_entropies)) + float(self.penalty(self.model))
