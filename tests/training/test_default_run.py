"""The default run's training as ``conf/base`` sets it, in process on small data, against
the seed's own constants.

The ``train`` pipeline's ``train_model`` node runs with ``conf/base/parameters_train.yml``
as it is (only ``steps`` shortened), through the pipeline's own wiring of datasets, and is
compared with the seed's TF1 program (:mod:`.seed_program`) given the seed's constants as
the tutorial writes them, not as the configuration holds them: a default that drifts in
``conf/base`` or on its way to the loop (the decay over the training set, the validation
points, the moving-average decay, the order of the data across epochs, the split that is
tested) shows here without a ``kedro run``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.slow  # imports TensorFlow

tf = pytest.importorskip("tensorflow")

from kedro.runner import SequentialRunner  # noqa: E402

import mnist_pipeline  # noqa: E402
from mnist_pipeline.datasets import ResumeCheckpoints  # noqa: E402
from mnist_pipeline.parameters import train_parameters  # noqa: E402
from mnist_pipeline.pipeline_registry import register_pipelines  # noqa: E402
from mnist_pipeline.training.loop import network  # noqa: E402

from ..conftest import in_memory_catalog, model_input  # noqa: E402
from .seed_program import seed_procedure  # noqa: E402

#: The project whose package is under test (a mutant's copy in the mutation check).
PROJECT = Path(mnist_pipeline.__file__).resolve().parents[2]
#: Long enough for the moving average to reach its decay (from step 891) and to pass the
#: validation point at 1,000; 125 epochs of the small training set.
STEPS = 1500
#: The tutorial's constants (../shared/seed): LEARNING_RATE_BASE, LEARNING_RATE_DECAY
#: (decayed over the training set's size), REGULARIZATION_RATE, MOVING_AVERAGE_DECAY,
#: BATCH_SIZE, LAYER1_NODE.
SEED_CONSTANTS = {
    "learning_rate_base": 0.8,
    "learning_rate_decay": 0.99,
    "decay_steps": None,
    "staircase": False,
    "regularization_rate": 0.0001,
    "moving_average_decay": 0.99,
    "batch_size": 100,
    "hidden_units": 500,
}


def _default_train_parameters() -> dict:
    """``train`` as ``conf/base`` holds it, ``steps`` shortened."""
    parameters = yaml.safe_load((PROJECT / "conf" / "base" / "parameters_train.yml").read_text())
    return {**parameters["train"], "steps": STEPS}


def _data() -> dict[str, np.ndarray]:
    """Small learnable splits whose test labels are a third wrong: the test accuracy tells
    the test split from the validation split."""
    data = model_input(train=1200, val=200, test=300)
    wrong = np.arange(0, 300, 3)
    data["y_test"][wrong] = np.roll(data["y_test"][wrong], 1, axis=1)
    return data


def _accuracy(state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    hidden = np.maximum(x @ state["average_weights1"] + state["average_biases1"], 0)
    logits = hidden @ state["average_weights2"] + state["average_biases2"]
    return float(np.mean(logits.argmax(1) == y.argmax(1)))


def test_the_default_run_trains_as_the_seed_with_its_constants(tmp_path):
    data, logged = _data(), []
    parameters = _default_train_parameters()
    train = (
        register_pipelines()["train"]
        .only_nodes_with_tags("train")
        .filter(node_names=["train.train_model"])
    )
    catalog = in_memory_catalog(
        {
            **data,
            "resume_checkpoints": ResumeCheckpoints(tmp_path / "checkpoints"),
            "live_training_metrics": lambda step, metrics: logged.append((step, metrics)),
            "params:train": parameters,
        },
        train.all_outputs(),
    )
    SequentialRunner().run(train, catalog)
    state, history = catalog.load("final_checkpoint"), catalog.load("training_history")

    # Validated every 1,000 steps from step 0, and at the last step; logged as it went.
    assert history["step"].tolist() == [0, 1000, STEPS]
    assert [step for step, _ in logged] == [0, 1000, STEPS]
    # The rate decays continuously over the training set's size (decay_steps: null).
    examples = len(data["x_train"])
    np.testing.assert_allclose(
        history["learning_rate"], [0.8 * 0.99 ** (s / examples) for s in history["step"]], 1e-6
    )

    # Every weight and average where the seed's program, with the seed's constants, ends.
    seed = train_parameters({**SEED_CONSTANTS, "steps": STEPS})
    labels = np.argmax(data["y_train"], axis=1).astype(np.int32)
    initial = network(train_parameters(parameters), 784, 10).state()
    expected = seed_procedure(seed, data["x_train"], labels, initial)
    for name, value in expected.items():
        np.testing.assert_allclose(state[name], value, rtol=1e-4, atol=1e-5, err_msg=name)

    # The test accuracy is the averaged network's on the test split, not the validation's.
    on_test = _accuracy(state, data["x_test"], data["y_test"])
    assert catalog.load("test_accuracy") == pytest.approx(on_test, abs=1e-6)
    assert on_test != _accuracy(state, data["x_val"], data["y_val"])
