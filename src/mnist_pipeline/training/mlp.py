"""The seed's 784-500-10 network: its weights, their averages, accuracy with the averages."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mnist_pipeline.parameters import TrainParameters

from .averaged import AVERAGE_PREFIX, AveragedNetwork
from .precision import matmul

#: Names of the weights, in the order of the seed's ``inference`` arguments.
WEIGHT_NAMES = ("weights1", "biases1", "weights2", "biases2")


def logits(x: tf.Tensor, weights1, biases1, weights2, biases2, dtype=tf.float32) -> tf.Tensor:
    """The seed's ``inference``: ``relu(x @ weights1 + biases1) @ weights2 + biases2``, the
    two products computed in ``dtype`` (:mod:`.precision`)."""
    hidden = tf.nn.relu(matmul(x, weights1, dtype) + biases1)
    return matmul(hidden, weights2, dtype) + biases2


class AveragedMLP(AveragedNetwork):
    """The MLP's weights, their moving averages and the global step."""

    weight_names = WEIGHT_NAMES

    def __init__(self, num_inputs: int, num_classes: int, config: TrainParameters) -> None:
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

    def training_logits(self, x: tf.Tensor) -> tf.Tensor:
        """The seed's ``y``: the logits with the current weights."""
        return logits(x, *self.weights, dtype=self.compute_dtype)

    def l2_penalty(self) -> tf.Tensor:
        """``regularization_rate`` x ``l2_loss`` of the two weight matrices (not the biases)."""
        weights1, _, weights2, _ = self.weights
        return self.regularization_rate * (tf.nn.l2_loss(weights1) + tf.nn.l2_loss(weights2))

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
            chunk_logits = logits(x[start:stop], *self.averages)
            predictions = tf.argmax(chunk_logits, axis=1, output_type=tf.int32)
            correct.append(
                tf.reduce_sum(tf.cast(tf.equal(predictions, labels[start:stop]), tf.float32))
            )
        return tf.add_n(correct) / tf.cast(count, tf.float32)


def averaged_keras_model(state: dict[str, np.ndarray]):
    """A Keras model (pixels in, logits out) carrying the averaged weights of ``state``."""
    import keras  # noqa: PLC0415

    weights1 = state[AVERAGE_PREFIX + "weights1"]
    weights2 = state[AVERAGE_PREFIX + "weights2"]
    model = keras.Sequential(
        [
            keras.Input(shape=(weights1.shape[0],), name="pixels"),
            keras.layers.Dense(weights1.shape[1], activation="relu", name="hidden"),
            keras.layers.Dense(weights2.shape[1], name="logits"),
        ],
        name="mnist_mlp_averaged",
    )
    model.set_weights([state[AVERAGE_PREFIX + name] for name in WEIGHT_NAMES])
    return model
