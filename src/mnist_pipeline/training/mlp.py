"""The seed's 784-500-10 network: its variables, their moving averages, evaluation.

The tutorial's initialisation: truncated-normal weights (stddev 0.1) and constant biases
(0.1); every trainable variable has a moving average, which starts at the variable's
initial value; evaluation uses the averaged weights, as the seed's ``average_y``. The
training steps (loss = mean sparse softmax cross-entropy + ``regularization_rate`` x the
sum of ``tf.nn.l2_loss`` (sum(w^2)/2) over the two weight matrices; plain SGD at the
decayed learning rate; then the moving average with decay ``min(decay, (1+step)/(10+step))``)
are in :mod:`.fused_steps`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .averaged import SHADOW_PREFIX, AveragedVariables
from .config import TrainingConfig
from .precision import matmul

#: Names of the trainable variables, in the order of the seed's ``inference`` arguments.
VARIABLE_NAMES = ("weights1", "biases1", "weights2", "biases2")


def logits(x: tf.Tensor, weights1, biases1, weights2, biases2, dtype=tf.float32) -> tf.Tensor:
    """The seed's ``inference``: ``relu(x @ weights1 + biases1) @ weights2 + biases2``, the
    two products computed in ``dtype`` (:mod:`.precision`)."""
    hidden = tf.nn.relu(matmul(x, weights1, dtype) + biases1)
    return matmul(hidden, weights2, dtype) + biases2


class AveragedMLP(AveragedVariables):
    """The network's variables, their moving averages and the global step."""

    variable_names = VARIABLE_NAMES

    def __init__(self, num_inputs: int, num_classes: int, config: TrainingConfig) -> None:
        """Initialise the weights as the seed does, from ``config.seed``."""
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
        super().__init__("averaged_mlp", initial, config)

    # ----------------------------------------------------------------- use
    @tf.function(autograph=False, reduce_retracing=True)
    def averaged_accuracy(self, x: tf.Tensor, labels: tf.Tensor, chunks: int = 1) -> tf.Tensor:
        """Accuracy of the averaged weights (the seed's ``average_y``) on ``x``.

        The rows are split into ``chunks`` independent parts, which TensorFlow can run
        side by side when each op is single-threaded (:mod:`.threads`).
        """
        count = tf.shape(x)[0]
        correct = []
        for chunk in range(chunks):
            start, stop = count * chunk // chunks, count * (chunk + 1) // chunks
            chunk_logits = logits(x[start:stop], *self.shadows)
            predictions = tf.argmax(chunk_logits, axis=1, output_type=tf.int32)
            correct.append(
                tf.reduce_sum(tf.cast(tf.equal(predictions, labels[start:stop]), tf.float32))
            )
        return tf.add_n(correct) / tf.cast(count, tf.float32)


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
