"""The plain step (``reference_step``) against NumPy, and the fused step against it.

The plain step takes its learning rate from Keras' ``ExponentialDecay`` and its averages
from TensorFlow's ``ExponentialMovingAverage``; the fused step takes both from
``schedules.py``. Comparing them checks each side's schedules against the other's.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # imports TensorFlow

tf = pytest.importorskip("tensorflow")

from mnist_pipeline.parameters import MLPParameters  # noqa: E402
from mnist_pipeline.training.fused_steps import FusedTrainer, TrainingInputs  # noqa: E402
from mnist_pipeline.training.loop import train  # noqa: E402
from mnist_pipeline.training.mlp import AveragedMLP  # noqa: E402
from mnist_pipeline.training.reference_step import ReferenceTrainer  # noqa: E402
from mnist_pipeline.training.schedules import Schedule  # noqa: E402

from .seed_math import LABELS, REG, STATE, X, numpy_step, penalty, set_state  # noqa: E402

#: The rate decays quickly enough (every 3 steps by 0.9) for a wrong exponent to show.
SCHEDULE = Schedule(
    learning_rate_base=0.8,
    learning_rate_decay=0.9,
    decay_steps=3,
    staircase=False,
    moving_average_decay=0.9,
)


def _tiny_model(moving_average_decay=0.9) -> AveragedMLP:
    config = MLPParameters(
        hidden_units=4, regularization_rate=REG, moving_average_decay=moving_average_decay
    )
    model = AveragedMLP(3, 2, config)
    set_state(model, STATE)  # at global step 7
    return model


@pytest.mark.parametrize("staircase", [False, True])
def test_steps_match_numpy_with_the_seeds_own_schedules(staircase):
    """The rate and decay of each step computed here from the seed's formulas: TF1's
    exponential_decay and ExponentialMovingAverage with num_updates."""
    schedule = Schedule(0.8, 0.9, 3, staircase, 0.9)
    model = _tiny_model()
    trainer = ReferenceTrainer(model, X, LABELS, schedule)
    loss = trainer.train_steps(np.array([[0, 1, 2]] * 4))
    state, cross_entropies = dict(STATE), []
    for step in range(7, 11):
        exponent = step // 3 if staircase else step / 3
        rate = 0.8 * 0.9**exponent
        decay = min(0.9, (1 + step) / (10 + step))
        assert trainer.learning_rate(step) == pytest.approx(rate, rel=1e-6)
        cross_entropy, new = numpy_step(state, rate, decay)
        cross_entropies.append(cross_entropy)
        state.update(new)
    assert loss == pytest.approx(np.mean(cross_entropies) + penalty(new), abs=1e-6)
    for name, value in new.items():
        np.testing.assert_allclose(model.state()[name], value, atol=1e-6, err_msg=name)
    assert int(model.state()["global_step"]) == 11


# A small MNIST-like problem: 8x8 "images" whose border pixels are zero in every example
# (the fused step leaves such inputs out of its products), 10 classes, 50 steps.
FEATURES, CLASSES, EXAMPLES, BATCH, STEPS = 64, 10, 400, 20, 50


def _problem(seed: int = 3):
    rng = np.random.default_rng(seed)
    images = rng.random((EXAMPLES, 8, 8)).astype(np.float32)
    images[:, [0, -1], :] = 0.0
    images[:, :, [0, -1]] = 0.0
    labels = rng.integers(0, CLASSES, EXAMPLES).astype(np.int32)
    images[np.arange(EXAMPLES), 1 + labels % 6, 1 + labels // 6 % 6] += 2.0  # learnable
    batches = np.stack([rng.choice(EXAMPLES, BATCH, replace=False) for _ in range(STEPS)])
    return images.reshape(EXAMPLES, FEATURES), labels, batches


@pytest.mark.parametrize("shards", [1, 2])
def test_fused_step_equals_the_reference_step_after_50_steps(shards):
    x, labels, batches = _problem()
    schedule = Schedule(0.5, 0.9, 10, False, 0.99)
    config = MLPParameters(hidden_units=32, regularization_rate=1e-3, seed=4)
    reference, fused = (AveragedMLP(FEATURES, CLASSES, config) for _ in range(2))
    reference_loss = ReferenceTrainer(reference, x, labels, schedule).train_steps(batches)
    inputs = TrainingInputs.from_arrays(x, labels)
    fused_loss = FusedTrainer(fused, inputs, schedule, shards).train_steps(batches)
    assert fused_loss == pytest.approx(reference_loss, rel=1e-5)
    expected, actual = reference.state(), fused.state()
    assert int(actual["global_step"]) == int(expected["global_step"]) == STEPS
    start = AveragedMLP(FEATURES, CLASSES, config).state()
    for name, value in expected.items():
        assert not np.array_equal(value, start[name]) or name == "global_step", name  # moved
        np.testing.assert_allclose(actual[name], value, rtol=1e-5, atol=1e-7, err_msg=name)


def test_the_training_loop_gives_the_same_history_with_either_step():
    x, labels, _ = _problem()
    one_hot = np.eye(CLASSES, dtype=np.float32)[labels]
    splits = (x[:300], one_hot[:300], x[300:350], one_hot[300:350])
    results = {
        implementation: train(
            *splits,
            MLPParameters(
                steps=60,
                batch_size=20,
                hidden_units=32,
                eval_every=20,
                seed=1,
                implementation=implementation,
            ),
        )
        for implementation in ("reference", "fused")
    }
    reference, fused = results["reference"], results["fused"]
    assert list(fused.history["step"]) == list(reference.history["step"]) == [0, 20, 40, 60]
    np.testing.assert_allclose(
        fused.history.drop(columns="step"),
        reference.history.drop(columns="step"),
        rtol=1e-5,
        atol=1e-6,
    )
    assert reference.history["val_accuracy"].iloc[-1] > 0.5  # it learned
