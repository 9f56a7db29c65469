"""The book's LeNet-5 (the seed's promised convolutional network), trained as the MLP is.

The network, on 28x28x1 images (the model-input rows reshaped; no second copy on disk):

    conv1  = relu(conv2d(x, W_conv1 [5x5x1x32], SAME) + b_conv1)       # 28x28x32
    pool1  = max_pool(conv1, 2x2, stride 2, SAME)                       # 14x14x32
    conv2  = relu(conv2d(pool1, W_conv2 [5x5x32x64], SAME) + b_conv2)   # 14x14x64
    pool2  = max_pool(conv2, 2x2, stride 2, SAME)                       # 7x7x64 -> 3136
    fc1    = dropout(relu(pool2 @ W_fc1 [3136x512] + b_fc1), 0.5)       # training only
    logits = fc1 @ W_fc2 [512x10] + b_fc2

It trains with exactly the MLP's step (:mod:`.reference_step`); only its logits, its
penalty and its dropout differ:

    loss = mean(sparse_softmax_cross_entropy(labels, logits))
           + regularization_rate * (l2_loss(W_fc1) + l2_loss(W_fc2))  # fully connected only

Validation, test and the saved model use the averages and no dropout. The dropout mask
of step ``s`` is drawn from ``(seed, s)``, so a resumed run draws the same masks as an
uninterrupted one. Initialisation as the book's: weights truncated normal (stddev
``init_stddev``), convolution biases 0, fully connected biases ``init_bias``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from mnist_pipeline.parameters import TrainParameters

from .averaged import AVERAGE_PREFIX, AveragedNetwork
from .precision import conv2d, matmul

IMAGE_SIDE = 28
#: The weights, in the order of the network.
WEIGHT_NAMES = (
    "conv1_weights",
    "conv1_biases",
    "conv2_weights",
    "conv2_biases",
    "fc1_weights",
    "fc1_biases",
    "fc2_weights",
    "fc2_biases",
)
#: Rows evaluated at once: bounds the memory of the convolutions' activations.
EVALUATION_ROWS = 2000


def logits(x, variables, dropout_rate=0.0, dropout_seed=None, dtype=tf.float32) -> tf.Tensor:
    """The network on flat rows ``x`` (N, 784); dropout on ``fc1`` when ``dropout_rate``;
    the convolutions and products computed in ``dtype`` (:mod:`.precision`)."""
    conv1_w, conv1_b, conv2_w, conv2_b, fc1_w, fc1_b, fc2_w, fc2_b = variables
    images = tf.reshape(x, [-1, IMAGE_SIDE, IMAGE_SIDE, 1])
    conv1 = tf.nn.relu(conv2d(images, conv1_w, dtype, strides=1, padding="SAME") + conv1_b)
    pool1 = tf.nn.max_pool2d(conv1, ksize=2, strides=2, padding="SAME")
    conv2 = tf.nn.relu(conv2d(pool1, conv2_w, dtype, strides=1, padding="SAME") + conv2_b)
    pool2 = tf.nn.max_pool2d(conv2, ksize=2, strides=2, padding="SAME")
    flat = tf.reshape(pool2, [tf.shape(pool2)[0], -1])
    fc1 = tf.nn.relu(matmul(flat, fc1_w, dtype) + fc1_b)
    if dropout_rate > 0.0:
        fc1 = tf.nn.experimental.stateless_dropout(fc1, rate=dropout_rate, seed=dropout_seed)
    return matmul(fc1, fc2_w, dtype) + fc2_b


class AveragedLeNet5(AveragedNetwork):
    """LeNet-5's weights, their moving averages and the global step."""

    weight_names = WEIGHT_NAMES

    def __init__(self, num_inputs: int, num_classes: int, config: TrainParameters) -> None:
        """Initialise as the book does, from ``config.seed``."""
        if num_inputs != IMAGE_SIDE * IMAGE_SIDE:
            raise ValueError(f"LeNet-5 takes {IMAGE_SIDE}x{IMAGE_SIDE} images, not {num_inputs}")
        k, c1, c2, fc = (
            config.kernel_size,
            config.conv1_filters,
            config.conv2_filters,
            config.fc_units,
        )
        flat = (IMAGE_SIDE // 4) ** 2 * c2
        shapes = {
            "conv1_weights": [k, k, 1, c1],
            "conv2_weights": [k, k, c1, c2],
            "fc1_weights": [flat, fc],
            "fc2_weights": [fc, num_classes],
        }
        initial = {}
        for index, name in enumerate(WEIGHT_NAMES):
            if name in shapes:
                initial[name] = tf.random.stateless_truncated_normal(
                    shapes[name], seed=[config.seed, index], stddev=config.init_stddev
                )
        initial["conv1_biases"] = tf.zeros([c1])
        initial["conv2_biases"] = tf.zeros([c2])
        initial["fc1_biases"] = tf.fill([fc], tf.constant(config.init_bias, tf.float32))
        initial["fc2_biases"] = tf.fill([num_classes], tf.constant(config.init_bias, tf.float32))
        super().__init__("averaged_lenet5", initial, config)
        self.dropout_rate = float(config.dropout_rate)
        self.seed = int(config.seed)

    def training_logits(self, x: tf.Tensor) -> tf.Tensor:
        """The logits with the current weights and dropout; step ``s``'s mask is drawn
        from ``(seed, s)``."""
        dropout_seed = tf.stack([tf.constant(self.seed, tf.int64), self.global_step])
        return logits(x, self.weights, self.dropout_rate, dropout_seed, self.compute_dtype)

    def l2_penalty(self) -> tf.Tensor:
        """``regularization_rate`` x ``l2_loss`` of the two fully connected weight matrices."""
        fc1_weights, fc2_weights = self.weights[4], self.weights[6]
        return self.regularization_rate * (tf.nn.l2_loss(fc1_weights) + tf.nn.l2_loss(fc2_weights))

    @tf.function(reduce_retracing=True)
    def _correct(self, x: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        predictions = tf.argmax(logits(x, self.averages), axis=1, output_type=tf.int32)
        return tf.reduce_sum(tf.cast(tf.equal(predictions, labels), tf.float32))

    def averaged_accuracy(self, x: tf.Tensor, labels: tf.Tensor, chunks: int = 1) -> tf.Tensor:
        """Accuracy of the averaged weights on ``x``, a bounded number of rows at a time."""
        del chunks  # the MLP's parallel parts; here rows go in slices of EVALUATION_ROWS
        count = int(x.shape[0])
        correct = sum(
            float(
                self._correct(
                    x[start : start + EVALUATION_ROWS], labels[start : start + EVALUATION_ROWS]
                )
            )
            for start in range(0, count, EVALUATION_ROWS)
        )
        return tf.constant(correct / count, tf.float32)


def averaged_keras_lenet5(state: dict[str, np.ndarray]):
    """A Keras model (flat pixels in, logits out) carrying the averaged weights of ``state``."""
    import keras  # noqa: PLC0415

    conv1 = state[AVERAGE_PREFIX + "conv1_weights"]
    conv2 = state[AVERAGE_PREFIX + "conv2_weights"]
    fc1 = state[AVERAGE_PREFIX + "fc1_weights"]
    fc2 = state[AVERAGE_PREFIX + "fc2_weights"]
    model = keras.Sequential(
        [
            keras.Input(shape=(IMAGE_SIDE * IMAGE_SIDE,), name="pixels"),
            keras.layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1), name="image"),
            keras.layers.Conv2D(
                conv1.shape[3], conv1.shape[0], padding="same", activation="relu", name="conv1"
            ),
            keras.layers.MaxPooling2D(2, padding="same", name="pool1"),
            keras.layers.Conv2D(
                conv2.shape[3], conv2.shape[0], padding="same", activation="relu", name="conv2"
            ),
            keras.layers.MaxPooling2D(2, padding="same", name="pool2"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(fc1.shape[1], activation="relu", name="fc1"),
            keras.layers.Dense(fc2.shape[1], name="logits"),
        ],
        name="mnist_lenet5_averaged",
    )
    model.set_weights([state[AVERAGE_PREFIX + name] for name in WEIGHT_NAMES])
    return model
