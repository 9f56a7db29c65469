"""The TensorFlow training step against a NumPy computation of the same formulas."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # imports TensorFlow

tf = pytest.importorskip("tensorflow")

from mnist_pipeline.parameters import MLPParameters  # noqa: E402
from mnist_pipeline.training.fused_steps import (  # noqa: E402
    FusedTrainer,
    TrainingInputs,
    shard_bounds,
)
from mnist_pipeline.training.mlp import AveragedMLP, averaged_keras_model  # noqa: E402

from .seed_math import LABELS, REG, STATE, X, numpy_step, penalty, set_state  # noqa: E402


def _model(regularization_rate=REG):
    config = MLPParameters(hidden_units=4, regularization_rate=regularization_rate)
    model = AveragedMLP(num_inputs=3, num_classes=2, config=config)
    set_state(model, STATE)
    return model


def _train(model, rates, decays, x=X, shards=1) -> float:
    """Train ``model`` on the whole of ``x`` as one batch, once per rate."""
    trainer = FusedTrainer(model, TrainingInputs.from_arrays(x, LABELS), shards=shards)
    return trainer.run_steps(
        np.array([[0, 1, 2]] * len(rates)),
        np.array(rates, np.float32),
        np.array(decays, np.float32),
    )


@pytest.mark.parametrize("shards", [1, 2, 4])
def test_one_sgd_and_ema_step_matches_numpy(shards):
    model = _model()
    lr, decay = 0.8, (1 + 7) / (10 + 7)
    loss = _train(model, [lr], [decay], shards=shards)
    cross_entropy, expected = numpy_step(STATE, lr, decay)
    assert float(loss) == pytest.approx(cross_entropy + penalty(expected), abs=1e-6)
    state = model.state()
    for name, value in expected.items():
        np.testing.assert_allclose(state[name], value, atol=1e-6, err_msg=name)
    assert int(state["global_step"]) == 8


@pytest.mark.parametrize("decays", [[0.5, 0.6, 0.7, 0.8], [1e-16, 1e-16, 0.9, 1e-16]])
@pytest.mark.parametrize("zero_feature", [None, 1])
@pytest.mark.parametrize("shards", [1, 3])
def test_several_steps_match_numpy_step_after_step(decays, zero_feature, shards):
    """Several steps in one call, and (with tiny decays) split across compiled calls;
    with a feature that is zero in every example, whose weights only decay; with the
    hidden units in one shard and in three unequal ones."""
    x = X.copy()
    if zero_feature is not None:
        x[:, zero_feature] = 0.0
    model = _model()
    rates = [0.8, 0.5, 0.3, 0.1]
    loss = _train(model, rates, decays, x, shards)
    state, cross_entropies = dict(STATE), []
    for rate, decay in zip(rates, decays, strict=True):
        cross_entropy, new = numpy_step(state, rate, decay, x)
        cross_entropies.append(cross_entropy)
        state.update(new)
    assert loss == pytest.approx(np.mean(cross_entropies) + penalty(new), abs=1e-6)
    for name, value in new.items():
        np.testing.assert_allclose(model.state()[name], value, atol=1e-5, err_msg=name)
    assert int(model.state()["global_step"]) == 11


@pytest.mark.parametrize(("units", "shards"), [(500, 1), (500, 2), (500, 3), (4, 4), (10, 4)])
def test_shards_split_the_hidden_units_into_near_equal_contiguous_slices(units, shards):
    bounds = shard_bounds(units, shards)
    assert [b.start for b in bounds] == [0] + [b.stop for b in bounds[:-1]]
    assert bounds[-1].stop == units
    sizes = [b.stop - b.start for b in bounds]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("shards", [0, 5])
def test_shards_must_be_between_one_and_the_hidden_units(shards):
    with pytest.raises(ValueError, match="shards must be in"):
        shard_bounds(4, shards)


def _step_loss(model) -> float:
    """The loss a training step reports: its cross-entropy + the L2 penalty after it."""
    return _train(model, [0.5], [0.9])


def test_l2_term_is_half_the_sum_of_squares_of_the_weights_only():
    regularised_model = _model()
    regularised = _step_loss(regularised_model)
    plain = _step_loss(_model(regularization_rate=0.0))  # same weights, same cross-entropy
    assert regularised - plain == pytest.approx(penalty(regularised_model.state()), rel=1e-5)


def _forward(x, state, prefix=""):
    hidden = np.maximum(x @ state[f"{prefix}weights1"] + state[f"{prefix}biases1"], 0)
    return hidden @ state[f"{prefix}weights2"] + state[f"{prefix}biases2"]


@pytest.mark.parametrize("chunks", [1, 2, 3])
def test_accuracy_uses_the_averaged_weights(chunks):
    # Averages unrelated to the raw weights, so that the two pick other classes.
    rng = np.random.default_rng(7)
    state = dict(STATE)
    for name in ("weights1", "biases1", "weights2", "biases2"):
        state[f"average_{name}"] = rng.normal(0, 0.5, STATE[name].shape).astype(np.float32)
    x = rng.normal(0, 1, (60, 3)).astype(np.float32)
    labels = _forward(x, state, "average_").argmax(1).astype(np.int32)  # the averages' answers
    raw_accuracy = (_forward(x, state).argmax(1) == labels).mean()
    assert raw_accuracy < 0.8  # the raw weights disagree on many examples
    model = _model()
    set_state(model, state)
    accuracy = model.averaged_accuracy(tf.constant(x), tf.constant(labels), chunks)
    assert float(accuracy) == 1.0


def test_keras_model_carries_the_averaged_weights():
    keras_model = averaged_keras_model(STATE)
    averages = [STATE[f"average_{k}"] for k in ("weights1", "biases1", "weights2", "biases2")]
    hidden = np.maximum(X @ averages[0] + averages[1], 0)
    np.testing.assert_allclose(
        keras_model.predict(X, verbose=0), hidden @ averages[2] + averages[3], atol=1e-6
    )


def test_initial_weights_follow_the_seed_and_are_seeded():
    config = MLPParameters(seed=5)
    first = AveragedMLP(784, 10, config).state()
    second = AveragedMLP(784, 10, config).state()
    np.testing.assert_array_equal(first["weights1"], second["weights1"])
    assert np.abs(first["weights1"]).max() <= 0.2  # truncated at 2 stddev
    assert first["weights1"].std() == pytest.approx(0.088, abs=0.003)  # 0.1 truncated
    np.testing.assert_array_equal(first["biases1"], np.full(500, 0.1, np.float32))
    np.testing.assert_array_equal(first["average_weights1"], first["weights1"])
    assert int(first["global_step"]) == 0
