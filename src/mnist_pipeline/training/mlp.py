"""The seed's 784-500-10 network and its training step, in TensorFlow 2.

Exact to the tutorial's math: truncated-normal weights (stddev 0.1) and constant biases
(0.1); loss = mean sparse softmax cross-entropy + ``regularization_rate`` x the sum of
``tf.nn.l2_loss`` (sum(w^2)/2) over the two weight matrices; plain SGD at the decayed
learning rate; then the exponential moving average of every trainable variable with
decay ``min(decay, (1+step)/(10+step))``. Evaluation uses the averaged weights, as the
seed's ``average_y``.

Speed: up to a thousand steps run inside one compiled ``tf.function`` call, with the
data resident as tensors and every per-step scalar precomputed on the host, so the
Python interpreter is out of the inner loop; and the SGD step, the L2 decay and the
moving average of each variable are one fused kernel pass (:mod:`.fused_update`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .config import TrainingConfig
from .fused_update import fused_coefficients, stretches

#: Names of the trainable variables, in the order of the seed's ``inference`` arguments.
VARIABLE_NAMES = ("weights1", "biases1", "weights2", "biases2")
SHADOW_PREFIX = "average_"
STEP_NAME = "global_step"

#: Longest stretch of steps in one compiled call (see :mod:`.fused_update`).
MAX_STEPS_PER_CALL = 1_000


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
        self._regularization = float(config.regularization_rate)

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
    def train_steps(
        self,
        x: tf.Tensor,
        labels: tf.Tensor,
        batch_indices: tf.Tensor,
        learning_rates: np.ndarray,
        ema_decays: np.ndarray,
    ) -> float:
        """Run ``len(batch_indices)`` SGD + EMA steps; return the training loss.

        The loss is the mean cross-entropy over the steps' batches plus the L2 penalty
        of the weights after the last step: the penalty moves slowly, and computing it
        at every step would cost an extra pass over the weights per step.
        The steps run in stretches (see :mod:`.fused_update`), each one compiled call.

        Args:
            x: All training inputs, (examples, features) float32, resident.
            labels: All training labels as class ids, (examples,) int32.
            batch_indices: (steps, batch_size) int32 rows of ``x`` for each step.
            learning_rates: (steps,) the rate of each step.
            ema_decays: (steps,) the moving-average decay after each step.
        """
        learning_rates, ema_decays = np.asarray(learning_rates), np.asarray(ema_decays)
        cross_entropy_sum, penalty = 0.0, 0.0
        for stretch in stretches(ema_decays, MAX_STEPS_PER_CALL):
            coefficients = fused_coefficients(
                learning_rates[stretch], ema_decays[stretch], self._regularization
            )
            cross_entropy, penalty = self._fused_steps(
                x,
                labels,
                batch_indices[stretch.start : stretch.stop],
                tf.constant(coefficients.per_step),
                tf.constant(
                    [
                        coefficients.final_weight_scale,
                        coefficients.final_bias_scale,
                        coefficients.final_average_scale,
                    ],
                    tf.float32,
                ),
            )
            cross_entropy_sum += float(cross_entropy) * (stretch.stop - stretch.start)
        return cross_entropy_sum / len(ema_decays) + float(penalty)

    @tf.function(reduce_retracing=True)
    def _fused_steps(
        self,
        x: tf.Tensor,
        labels: tf.Tensor,
        batch_indices: tf.Tensor,
        per_step: tf.Tensor,
        final_scales: tf.Tensor,
    ) -> tf.Tensor:
        """SGD + L2 + EMA steps with one fused update per variable; return the mean
        cross-entropy and the L2 penalty after the last step.

        During the call each variable holds its buffer ``P`` and each average its ``Q``
        (:mod:`.fused_update`): the forward pass scales by ``alpha``, and one
        ``ResourceApplyMomentum`` per variable does the SGD step, the L2 decay and the
        moving average together. At the end the variables are scaled back to the
        weights and averages. The gradients are written out rather than taken with
        ``GradientTape``: the fused softmax cross-entropy kernel already returns
        d(loss)/d(logits). ``tests/training/test_mlp.py`` checks the steps against a
        NumPy computation of the seed's formulas.
        """
        weights1, biases1, weights2, biases2 = self.variables_
        num_steps = tf.shape(batch_indices)[0]
        negative_inverse_batch = -1.0 / tf.cast(tf.shape(batch_indices)[1], tf.float32)
        cross_entropy_sum = tf.constant(0.0, tf.float32)
        for i in tf.range(num_steps):
            (scale, bias_ratio, momentum, gradient_scale, bias_gradient_ratio,
             weight_rate, bias_rate) = tf.unstack(per_step[i])
            rows = batch_indices[i]
            batch_x = tf.gather(x, rows)
            # W = scale * P with scale > 0, so the hidden layer is scale * relu(z): the
            # scale is carried on the 100x10 side instead of the 100x500 activations.
            relu_z = tf.nn.relu(tf.nn.bias_add(tf.matmul(batch_x, weights1), bias_ratio * biases1))
            logits = tf.nn.bias_add(
                (scale * scale) * tf.matmul(relu_z, weights2), (scale * bias_ratio) * biases2
            )
            cross_entropy, d_logits = tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits(
                features=logits, labels=tf.gather(labels, rows)
            )
            cross_entropy_sum += tf.reduce_sum(cross_entropy)
            # h = -c * d(loss)/d(logits), the loss being the batch mean.
            d_logits *= gradient_scale * negative_inverse_batch
            d_logits_scaled = scale * d_logits
            d_pre = tf.raw_ops.ReluGrad(
                gradients=tf.matmul(d_logits_scaled, weights2, transpose_b=True), features=relu_z
            )
            updates = (
                tf.matmul(batch_x, d_pre, transpose_a=True),
                bias_gradient_ratio * tf.reduce_sum(d_pre, axis=0),
                tf.matmul(relu_z, d_logits_scaled, transpose_a=True),
                bias_gradient_ratio * tf.reduce_sum(d_logits, axis=0),
            )
            rates = (weight_rate, bias_rate, weight_rate, bias_rate)
            for variable, shadow, update, rate in zip(self.variables_, self.shadows, updates, rates):
                tf.raw_ops.ResourceApplyMomentum(
                    var=shadow.handle, accum=variable.handle, lr=rate, grad=update,
                    momentum=momentum,
                )
        weight_scale, bias_scale, average_scale = tf.unstack(final_scales)
        for variable, final in zip(self.variables_, (weight_scale, bias_scale) * 2):
            variable.assign(variable * final)
        for shadow in self.shadows:
            shadow.assign(shadow * average_scale)
        self.global_step.assign_add(tf.cast(num_steps, tf.int64))
        penalty = self._regularization * (tf.nn.l2_loss(weights1) + tf.nn.l2_loss(weights2))
        batch_size = tf.cast(tf.shape(batch_indices)[1], tf.float32)
        return cross_entropy_sum / (tf.cast(num_steps, tf.float32) * batch_size), penalty

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
