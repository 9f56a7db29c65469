"""The seed's 784-500-10 network and its training step, in TensorFlow 2.

Exact to the tutorial's math: truncated-normal weights (stddev 0.1) and constant biases
(0.1); loss = mean sparse softmax cross-entropy + ``regularization_rate`` x the sum of
``tf.nn.l2_loss`` (sum(w^2)/2) over the two weight matrices; plain SGD at the decayed
learning rate; then the exponential moving average of every trainable variable with
decay ``min(decay, (1+step)/(10+step))``. Evaluation uses the averaged weights, as the
seed's ``average_y``.

Speed: many steps run inside one compiled ``tf.function`` call, with the data resident
as tensors and the per-step learning rate and EMA decay precomputed on the host, so the
Python interpreter is out of the inner loop.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .config import TrainingConfig

#: Names of the trainable variables, in the order of the seed's ``inference`` arguments.
VARIABLE_NAMES = ("weights1", "biases1", "weights2", "biases2")
SHADOW_PREFIX = "average_"
STEP_NAME = "global_step"


def _logits(x: tf.Tensor, weights1, biases1, weights2, biases2) -> tf.Tensor:
    hidden = tf.nn.relu(tf.matmul(x, weights1) + biases1)
    return tf.matmul(hidden, weights2) + biases2


class AveragedMLP(tf.Module):
    """The network's variables, their moving averages and the global step."""

    def __init__(self, num_inputs: int, num_classes: int, config: TrainingConfig) -> None:
        """Initialise the weights as the seed does, from ``config.seed``."""
        super().__init__(name="averaged_mlp")
        seed = config.seed
        hidden = config.hidden_units
        initial = {
            "weights1": tf.random.stateless_truncated_normal(
                [num_inputs, hidden], seed=[seed, 1], stddev=config.init_stddev
            ),
            "biases1": tf.fill([hidden], tf.constant(config.init_bias, tf.float32)),
            "weights2": tf.random.stateless_truncated_normal(
                [hidden, num_classes], seed=[seed, 2], stddev=config.init_stddev
            ),
            "biases2": tf.fill([num_classes], tf.constant(config.init_bias, tf.float32)),
        }
        self.variables_ = [tf.Variable(initial[name], name=name) for name in VARIABLE_NAMES]
        # TF1's ExponentialMovingAverage starts each shadow at its variable's initial value.
        self.shadows = [
            tf.Variable(initial[name], name=SHADOW_PREFIX + name, trainable=False)
            for name in VARIABLE_NAMES
        ]
        self.global_step = tf.Variable(0, dtype=tf.int64, name=STEP_NAME, trainable=False)
        self._regularization_rate = tf.constant(config.regularization_rate, tf.float32)

    # ----------------------------------------------------------------- state
    def state(self) -> dict[str, np.ndarray]:
        """All variables as ``{name: array}``: what a checkpoint holds."""
        arrays = {name: var.numpy() for name, var in zip(VARIABLE_NAMES, self.variables_)}
        arrays.update(
            {SHADOW_PREFIX + name: s.numpy() for name, s in zip(VARIABLE_NAMES, self.shadows)}
        )
        arrays[STEP_NAME] = np.asarray(self.global_step.numpy(), dtype=np.int64)
        return arrays

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Set every variable from a :meth:`state` mapping (shapes must match)."""
        for name, var in zip(VARIABLE_NAMES, self.variables_):
            var.assign(state[name])
        for name, shadow in zip(VARIABLE_NAMES, self.shadows):
            shadow.assign(state[SHADOW_PREFIX + name])
        self.global_step.assign(int(state[STEP_NAME]))

    # ----------------------------------------------------------------- math
    @tf.function(reduce_retracing=True)
    def train_steps(
        self,
        x: tf.Tensor,
        labels: tf.Tensor,
        batch_indices: tf.Tensor,
        learning_rates: tf.Tensor,
        ema_decays: tf.Tensor,
    ) -> tf.Tensor:
        """Run ``len(batch_indices)`` SGD + EMA steps; return their mean loss.

        The gradients are written out rather than taken with ``GradientTape``: the fused
        softmax cross-entropy kernel already returns d(loss)/d(logits), and each update
        is one ``ApplyGradientDescent`` kernel, which saves a third of the per-step
        element-wise passes over the weights. ``tests/training/test_mlp.py`` checks the
        step against a NumPy computation of the same formulas.

        Args:
            x: All training inputs, (examples, features) float32, resident.
            labels: All training labels as class ids, (examples,) int32.
            batch_indices: (steps, batch_size) int32 rows of ``x`` for each step.
            learning_rates: (steps,) float32, the rate of each step.
            ema_decays: (steps,) float32, the moving-average decay after each step.
        """
        weights1, biases1, weights2, biases2 = self.variables_
        reg = self._regularization_rate
        num_steps = tf.shape(batch_indices)[0]
        batch_size = tf.cast(tf.shape(batch_indices)[1], tf.float32)
        total = tf.constant(0.0, tf.float32)
        for i in tf.range(num_steps):
            rows = batch_indices[i]
            batch_x = tf.gather(x, rows)
            hidden = tf.nn.relu(tf.matmul(batch_x, weights1) + biases1)
            logits = tf.matmul(hidden, weights2) + biases2
            cross_entropy, d_logits = tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits(
                features=logits, labels=tf.gather(labels, rows)
            )
            l2 = tf.nn.l2_loss(weights1) + tf.nn.l2_loss(weights2)
            total += tf.reduce_mean(cross_entropy) + reg * l2
            d_logits /= batch_size  # the loss is the batch mean
            d_hidden = tf.raw_ops.ReluGrad(
                gradients=tf.matmul(d_logits, weights2, transpose_b=True), features=hidden
            )
            gradients = (
                tf.matmul(batch_x, d_hidden, transpose_a=True) + reg * weights1,
                tf.reduce_sum(d_hidden, axis=0),
                tf.matmul(hidden, d_logits, transpose_a=True) + reg * weights2,
                tf.reduce_sum(d_logits, axis=0),
            )
            for variable, gradient in zip(self.variables_, gradients):
                tf.raw_ops.ResourceApplyGradientDescent(
                    var=variable.handle, alpha=learning_rates[i], delta=gradient
                )
            # shadow -= (1 - decay) * (shadow - variable), after the SGD step
            keep = 1.0 - ema_decays[i]
            for shadow, variable in zip(self.shadows, self.variables_):
                tf.raw_ops.ResourceApplyGradientDescent(
                    var=shadow.handle, alpha=keep, delta=shadow - variable
                )
        self.global_step.assign_add(tf.cast(num_steps, tf.int64))
        return total / tf.cast(num_steps, tf.float32)

    @tf.function(reduce_retracing=True)
    def averaged_accuracy(self, x: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """Accuracy of the averaged weights (the seed's ``average_y``) on ``x``."""
        predictions = tf.argmax(_logits(x, *self.shadows), axis=1, output_type=tf.int32)
        return tf.reduce_mean(tf.cast(tf.equal(predictions, labels), tf.float32))


def averaged_keras_model(state: dict[str, np.ndarray]):
    """A Keras model (pixels in, logits out) carrying the averaged weights of ``state``."""
    import keras  # noqa: PLC0415

    weights1 = state[SHADOW_PREFIX + "weights1"]
    weights2 = state[SHADOW_PREFIX + "weights2"]
    model = keras.Sequential(
        [
            keras.Input(shape=(weights1.shape[0],), name="pixels"),
            keras.layers.Dense(weights1.shape[1], activation="relu", name="hidden"),
            keras.layers.Dense(weights2.shape[1], name="logits"),
        ],
        name="mnist_mlp_averaged",
    )
    model.set_weights([state[SHADOW_PREFIX + name] for name in VARIABLE_NAMES])
    return model
