"""The seed's training loop (../shared/seed/), ported to ``tf.compat.v1`` as the speed reference.

Placeholders, a ``Session`` and one ``feed_dict`` per step, exactly as the tutorial
trains; only what TensorFlow 2 removed is replaced: ``tf.contrib.layers.l2_regularizer``
by ``scale * tf.nn.l2_loss`` (the same formula) and ``input_data.read_data_sets`` by the
project's preprocessed arrays (the same 55,000/5,000 split). The network, learning-rate
decay, L2 term, EMA with ``num_updates`` and the per-epoch shuffle-and-slice of
``DataSet.next_batch`` are the tutorial's.

So that the benchmark compares implementations rather than random draws, the initial
weights and each epoch's shuffle come from the same seeded sources the project uses
(the tutorial itself is unseeded); pass ``own_randomness=True`` for the tutorial's own
``tf.truncated_normal`` and ``numpy.random.permutation``.
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from mnist_pipeline.parameters import TrainParameters
from mnist_pipeline.training.batches import EpochShuffler
from mnist_pipeline.training.mlp import AveragedMLP

v1 = tf.compat.v1


class _DataSet:
    """``input_data.DataSet.next_batch``: permute the whole set each epoch, then slice."""

    def __init__(self, images, labels, shuffler: EpochShuffler | None, rng):
        self._images, self._labels = images, labels
        self._n = len(images)
        self._shuffler, self._rng = shuffler, rng
        self._epoch, self._index = 0, 0
        self._shuffle()

    def _shuffle(self):
        perm = (
            self._shuffler.permutation(self._epoch)
            if self._shuffler is not None
            else self._rng.permutation(self._n)
        )
        self._epoch_images, self._epoch_labels = self._images[perm], self._labels[perm]

    def next_batch(self, batch_size):
        start = self._index
        if start + batch_size > self._n:
            rest_x = self._epoch_images[start:]
            rest_y = self._epoch_labels[start:]
            self._epoch += 1
            self._shuffle()
            self._index = batch_size - len(rest_x)
            return (
                np.concatenate([rest_x, self._epoch_images[: self._index]]),
                np.concatenate([rest_y, self._epoch_labels[: self._index]]),
            )
        self._index += batch_size
        if self._index == self._n:
            batch = self._epoch_images[start:], self._epoch_labels[start:]
            self._epoch += 1
            self._shuffle()
            self._index = 0
            return batch
        return self._epoch_images[start : self._index], self._epoch_labels[start : self._index]


def train_reference(  # noqa: PLR0915
    x_train,
    y_train,
    x_val,
    y_val,
    x_test,
    y_test,
    config: TrainParameters,
    own_randomness: bool = False,
    log=print,
) -> dict:
    """Train as the seed does; return test accuracy, validation history and seconds."""
    start = time.perf_counter()
    n_in, n_out = x_train.shape[1], y_train.shape[1]
    initial = None if own_randomness else AveragedMLP(n_in, n_out, config).state()
    graph = tf.Graph()
    with graph.as_default():
        if own_randomness:
            v1.set_random_seed(config.seed)
            w1_init = v1.truncated_normal([n_in, config.hidden_units], stddev=config.init_stddev)
            w2_init = v1.truncated_normal([config.hidden_units, n_out], stddev=config.init_stddev)
        else:  # the project's seeded initial values (see the module docstring)
            w1_init, w2_init = initial["weights1"], initial["weights2"]

        x = v1.placeholder(tf.float32, [None, n_in], name="x-input")
        y_ = v1.placeholder(tf.float32, [None, n_out], name="y-input")
        weights1 = tf.Variable(w1_init)
        biases1 = tf.Variable(tf.constant(config.init_bias, shape=[config.hidden_units]))
        weights2 = tf.Variable(w2_init)
        biases2 = tf.Variable(tf.constant(config.init_bias, shape=[n_out]))

        def inference(input_tensor, avg_class):
            if avg_class is None:
                layer1 = tf.nn.relu(tf.matmul(input_tensor, weights1) + biases1)
                return tf.matmul(layer1, weights2) + biases2
            layer1 = tf.nn.relu(
                tf.matmul(input_tensor, avg_class.average(weights1)) + avg_class.average(biases1)
            )
            return tf.matmul(layer1, avg_class.average(weights2)) + avg_class.average(biases2)

        y = inference(x, None)
        global_step = tf.Variable(0, trainable=False)
        variable_averages = v1.train.ExponentialMovingAverage(
            config.moving_average_decay, global_step
        )
        variables_averages_op = variable_averages.apply(v1.trainable_variables())
        average_y = inference(x, variable_averages)
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(
            logits=y, labels=tf.argmax(y_, 1)
        )
        cross_entropy_mean = tf.reduce_mean(cross_entropy)
        # tf.contrib.layers.l2_regularizer(scale)(w) == scale * tf.nn.l2_loss(w)
        regularization = config.regularization_rate * (
            tf.nn.l2_loss(weights1) + tf.nn.l2_loss(weights2)
        )
        loss = cross_entropy_mean + regularization
        learning_rate = v1.train.exponential_decay(
            config.learning_rate_base,
            global_step,
            config.decay_steps or len(x_train),
            config.learning_rate_decay,
            staircase=config.staircase,
        )
        train_step = v1.train.GradientDescentOptimizer(learning_rate).minimize(
            loss, global_step=global_step
        )
        with tf.control_dependencies([train_step, variables_averages_op]):
            train_op = tf.no_op(name="train")
        correct_prediction = tf.equal(tf.argmax(average_y, 1), tf.argmax(y_, 1))
        accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

        shuffler = (
            None if own_randomness else EpochShuffler(len(x_train), config.batch_size, config.seed)
        )
        rng = np.random.RandomState(config.seed)
        data = _DataSet(x_train, y_train, shuffler, rng)
        history = []
        with v1.Session(graph=graph) as sess:
            v1.global_variables_initializer().run()
            validate_feed = {x: x_val, y_: y_val}
            test_feed = {x: x_test, y_: y_test}
            for i in range(config.steps):
                if i % config.eval_every == 0:
                    validate_acc = sess.run(accuracy, feed_dict=validate_feed)
                    history.append((i, float(validate_acc)))
                    log(
                        f"After {i} training step(s), validation accuracy using average "
                        f"model is {validate_acc:g}"
                    )
                xs, ys = data.next_batch(config.batch_size)
                sess.run(train_op, feed_dict={x: xs, y_: ys})
            history.append((config.steps, float(sess.run(accuracy, feed_dict=validate_feed))))
            test_acc = float(sess.run(accuracy, feed_dict=test_feed))
            log(
                f"After {config.steps} training step(s), test accuracy using average model "
                f"is {test_acc:g}"
            )
    return {"test_accuracy": test_acc, "history": history, "seconds": time.perf_counter() - start}
