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
from mnist_pipeline.parameters import train_parameters  # noqa: E402
from mnist_pipeline.pipelines.train.nodes import train_model  # noqa: E402
from mnist_pipeline.training.loop import network  # noqa: E402

from ..conftest import model_input  # noqa: E402
from .seed_program import seed_procedure  # noqa: E402

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


class _InterruptedError(Exception):
    pass


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_loop_with_checkpoints_and_a_resume_ends_where_the_seed_does(tmp_path, case):
    data = model_input(train=500, val=100, test=100)
    parameters = {"steps": STEPS, "eval_every": EVAL_EVERY, **CASES[case]}
    config = train_parameters(parameters)
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
    expected = seed_procedure(config, data["x_train"], labels, initial)
    for name, value in expected.items():
        assert not np.allclose(value, initial[name]), f"{name} did not move"
        np.testing.assert_allclose(state[name], value, rtol=1e-5, atol=1e-5, err_msg=name)
    assert int(state["global_step"]) == STEPS
