"""The seed's training procedure as its own TF1 program: placeholders and a ``Session``,
``tf.compat.v1.train.exponential_decay``, ``GradientDescentOptimizer``,
``ExponentialMovingAverage`` with ``num_updates`` and ``next_batch`` over seeded epoch
shuffles. It shares with the project only the initial weights and the networks' forward
pass (tested against Keras elsewhere): the schedules, the batches, the steps and their
order are its own. Imports TensorFlow.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from mnist_pipeline.parameters import TrainParameters
from mnist_pipeline.training import lenet5, mlp

v1 = tf.compat.v1


def seed_batches(num_examples: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """The seed's ``next_batch`` at ``step``: a stream of epochs, each a fresh shuffle."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs, offsets = np.divmod(positions, num_examples)
    return np.array(
        [
            _shuffle(num_examples, seed, int(epoch))[offset]
            for epoch, offset in zip(epochs, offsets, strict=True)
        ]
    )


@functools.lru_cache(maxsize=4)
def _shuffle(num_examples: int, seed: int, epoch: int) -> np.ndarray:
    """The order of epoch ``epoch``."""
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


def seed_procedure(config: TrainParameters, x_train, labels, initial: dict) -> dict:
    """Train as the seed's TF1 program does; the final weights and averages by name."""
    lenet = config.model == "lenet5"
    names = lenet5.WEIGHT_NAMES if lenet else mlp.WEIGHT_NAMES
    regularised = ("fc1_weights", "fc2_weights") if lenet else ("weights1", "weights2")
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, x_train.shape[1]])
        y = v1.placeholder(tf.int32, [None])
        weights = {name: tf.Variable(initial[name], name=name) for name in names}
        global_step = tf.Variable(0, dtype=tf.int64, trainable=False)
        variables = [weights[name] for name in names]
        if lenet:
            seed = tf.stack([tf.constant(config.seed, tf.int64), global_step])
            logits = lenet5.logits(x, variables, config.dropout_rate, seed)
        else:
            logits = mlp.logits(x, *variables)
        cross_entropy = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        )
        l2 = config.regularization_rate * tf.add_n([tf.nn.l2_loss(weights[n]) for n in regularised])
        learning_rate = v1.train.exponential_decay(
            config.learning_rate_base,
            global_step,
            config.decay_steps or len(x_train),
            config.learning_rate_decay,
            staircase=config.staircase,
        )
        sgd = v1.train.GradientDescentOptimizer(learning_rate).minimize(
            cross_entropy + l2, var_list=variables
        )
        averages = v1.train.ExponentialMovingAverage(
            config.moving_average_decay, num_updates=global_step
        )
        with tf.control_dependencies([sgd]):
            average_op = averages.apply(variables)
        with tf.control_dependencies([average_op]):
            train_op = global_step.assign_add(1)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            for step in range(config.steps):
                rows = seed_batches(len(x_train), config.batch_size, config.seed, step)
                session.run(train_op, {x: x_train[rows], y: labels[rows]})
            final = {name: session.run(weights[name]) for name in names}
            final.update({f"average_{n}": session.run(averages.average(weights[n])) for n in names})
    return final
