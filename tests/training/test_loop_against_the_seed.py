"""The whole training loop, as ``kedro run`` drives it, against the seed's own procedure.

The loop is run through the ``train_model`` node (checkpoints, live metrics, an
interruption and a resume included) and compared with a TF1 program written as the seed
wrote its own: placeholders and a ``Session``, ``tf.compat.v1.train.exponential_decay``,
``GradientDescentOptimizer``, ``ExponentialMovingAverage`` with ``num_updates`` and its
own ``next_batch`` over the seeded epoch shuffles. It shares with the project only the
initial weights and the networks' forward pass (tested against Keras elsewhere): the
schedules, the batches, the steps and their order are its own, so a fault in how the
loop hands them to either step shows here. The averages follow the updated weights, with
``num_updates`` the step before it ends (the seed's ``control_dependencies`` made no
order; this is the order the project documents).
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # imports TensorFlow

tf = pytest.importorskip("tensorflow")

from mnist_pipeline.datasets import ResumeCheckpoints  # noqa: E402
from mnist_pipeline.parameters import TrainParameters  # noqa: E402
from mnist_pipeline.pipelines.train.nodes import train_model  # noqa: E402
from mnist_pipeline.training import lenet5, mlp  # noqa: E402
from mnist_pipeline.training.loop import network  # noqa: E402

from ..conftest import model_input  # noqa: E402

v1 = tf.compat.v1

STEPS, EVAL_EVERY, INTERRUPTED_AT = 300, 100, 200
CASES = {
    "mlp-fused": {"hidden_units": 64, "batch_size": 50, "decay_steps": 40},
    "mlp-plain": {
        "hidden_units": 64,
        "batch_size": 50,
        "decay_steps": 40,
        "staircase": True,
        "implementation": "reference",
    },
    "lenet5": {
        "model": "lenet5",
        "lenet5": {
            "conv1_filters": 4,
            "conv2_filters": 6,
            "fc_units": 16,
            "batch_size": 50,
            "decay_steps": 40,
            "staircase": True,
            "learning_rate_base": 0.1,
        },
    },
}


def _seed_batches(num_examples: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """The seed's ``next_batch`` at ``step``: a stream of epochs, each a fresh shuffle."""
    positions = np.arange(step * batch_size, (step + 1) * batch_size)
    epochs, offsets = np.divmod(positions, num_examples)
    return np.array(
        [
            np.random.default_rng([seed, epoch]).permutation(num_examples)[offset]
            for epoch, offset in zip(epochs, offsets, strict=True)
        ]
    )


def _seed_procedure(config: TrainParameters, x_train, labels, initial: dict) -> dict:
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
                rows = _seed_batches(len(x_train), config.batch_size, config.seed, step)
                session.run(train_op, {x: x_train[rows], y: labels[rows]})
            final = {name: session.run(weights[name]) for name in names}
            final.update({f"average_{n}": session.run(averages.average(weights[n])) for n in names})
    return final


class _InterruptedError(Exception):
    pass


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_loop_with_checkpoints_and_a_resume_ends_where_the_seed_does(tmp_path, case):
    data = model_input(train=500, val=100, test=100)
    parameters = {"steps": STEPS, "eval_every": EVAL_EVERY, **CASES[case]}
    config = TrainParameters.check(parameters)
    inputs = [data[k] for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")]
    logged = []

    def interrupt(step, metrics):
        if step == INTERRUPTED_AT:
            raise _InterruptedError

    with pytest.raises(_InterruptedError):
        train_model(*inputs, ResumeCheckpoints(tmp_path / "ckpts"), interrupt, parameters)
    state, history, _, tags = train_model(
        *inputs,
        ResumeCheckpoints(tmp_path / "ckpts"),
        lambda step, metrics: logged.append(step),
        parameters,
    )
    assert tags["resumed_from_step"] == "100"
    assert list(history["step"]) == logged == [0, 100, 200, 300]

    labels = np.argmax(data["y_train"], axis=1).astype(np.int32)
    initial = network(config, 784, 10).state()
    expected = _seed_procedure(config, data["x_train"], labels, initial)
    for name, value in expected.items():
        assert not np.allclose(value, initial[name]), f"{name} did not move"
        np.testing.assert_allclose(state[name], value, rtol=1e-5, atol=1e-5, err_msg=name)
    assert int(state["global_step"]) == STEPS
