"""LeNet-5: one step against the same network built from Keras layers, dropout, resume."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # imports TensorFlow

tf = pytest.importorskip("tensorflow")

from mnist_pipeline.datasets import ResumeCheckpoints  # noqa: E402
from mnist_pipeline.parameters import TrainParameters, train_parameters  # noqa: E402
from mnist_pipeline.training.lenet5 import (  # noqa: E402
    AVERAGE_PREFIX,
    WEIGHT_NAMES,
    AveragedLeNet5,
    averaged_keras_lenet5,
    logits,
)
from mnist_pipeline.training.loop import train  # noqa: E402
from mnist_pipeline.training.reference_step import train_step  # noqa: E402

from ..conftest import model_input  # noqa: E402

#: A small LeNet-5 (same layers, fewer filters and units): the same math, quick to check.
SMALL = {
    "model": "lenet5",
    "conv1_filters": 4,
    "conv2_filters": 6,
    "fc_units": 16,
    "regularization_rate": 0.01,
}


def _config(**overrides) -> TrainParameters:
    return train_parameters({**SMALL, **overrides})


def _keras_lenet5(config: TrainParameters):
    """The book's LeNet-5 from Keras layers: an independent forward pass."""
    import keras

    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(config.conv1_filters, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2, padding="same"),
            keras.layers.Conv2D(config.conv2_filters, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2, padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(config.fc_units, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def test_one_step_matches_keras_layers_with_the_same_weights_and_numpy_updates():
    import keras

    config = _config(dropout_rate=0.0)
    model = AveragedLeNet5(784, 10, config)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (8, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 8).astype(np.int32)
    before = [v.numpy() for v in model.weights]
    rate, decay = 0.05, min(config.moving_average_decay, (1 + 0) / (10 + 0))  # at step 0

    reference = _keras_lenet5(config)
    reference.set_weights(before)
    with tf.GradientTape() as tape:
        out = reference(x)
        cross_entropy = tf.reduce_mean(
            tf.keras.losses.sparse_categorical_crossentropy(labels, out, from_logits=True)
        )
        fc1, fc2 = reference.trainable_weights[4], reference.trainable_weights[6]
        l2 = config.regularization_rate * (tf.reduce_sum(fc1**2) + tf.reduce_sum(fc2**2)) / 2
        loss = cross_entropy + l2
    gradients = [g.numpy() for g in tape.gradient(loss, reference.trainable_weights)]
    expected = [w - rate * g for w, g in zip(before, gradients, strict=True)]
    expected_averages = [
        a - (1 - decay) * (a - w) for a, w in zip(before, expected, strict=True)
    ]  # the averages start equal to the initial weights

    constant_rate = keras.optimizers.schedules.ExponentialDecay(rate, 1, 1.0)
    step_cross_entropy = train_step(model, x, labels, constant_rate)
    np.testing.assert_allclose(float(step_cross_entropy), float(cross_entropy), rtol=1e-5)
    for name, got, want in zip(range(8), model.weights, expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-6, err_msg=str(name))
    for got, want in zip(model.averages, expected_averages, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-6)
    assert int(model.global_step.numpy()) == 1


def test_dropout_masks_depend_only_on_the_seed_and_step_and_are_off_for_evaluation():
    config = _config()
    x = np.random.default_rng(1).uniform(0, 1, (4, 784)).astype(np.float32)
    model = AveragedLeNet5(784, 10, config)
    seed = tf.constant([0, 5], tf.int64)
    first = logits(x, model.weights, 0.5, seed).numpy()
    np.testing.assert_array_equal(first, logits(x, model.weights, 0.5, seed).numpy())
    other = logits(x, model.weights, 0.5, tf.constant([0, 6], tf.int64)).numpy()
    assert not np.array_equal(first, other)
    plain = logits(x, model.weights).numpy()
    assert not np.array_equal(first, plain)
    keras_model = averaged_keras_lenet5(model.state())  # averages == initial weights here
    np.testing.assert_allclose(keras_model(x).numpy(), plain, rtol=1e-5, atol=1e-6)


def test_l2_is_on_the_fully_connected_weights_only():
    model = AveragedLeNet5(784, 10, _config())
    fc = [model.weights[4].numpy(), model.weights[6].numpy()]
    expected = 0.01 * sum(float((w.astype(np.float64) ** 2).sum()) / 2 for w in fc)
    assert float(model.l2_penalty()) == pytest.approx(expected, rel=1e-5)


def test_lenet5_values_replace_the_mlp_ones_only_when_chosen():
    params = {"steps": 20000, "learning_rate_base": 0.8, "lenet5": {"steps": 6000}}
    assert train_parameters(params).steps == 20000
    assert train_parameters({**params, "model": "lenet5"}).steps == 6000


class _InterruptedError(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_final_metrics(tmp_path):
    data = model_input(train=200, val=40, test=40)
    config = _config(steps=8, eval_every=4, batch_size=20, learning_rate_base=0.05)
    arrays = [data[k] for k in ("x_train", "y_train", "x_val", "y_val")]
    test_set = (data["x_test"], data["y_test"])
    whole = train(*arrays, config, ResumeCheckpoints(tmp_path / "a"), test_set=test_set)

    def stop_at_the_end(step, _row):
        if step == 8:
            raise _InterruptedError

    with pytest.raises(_InterruptedError):
        train(*arrays, config, ResumeCheckpoints(tmp_path / "b"), stop_at_the_end)
    resumed = train(*arrays, config, ResumeCheckpoints(tmp_path / "b"), test_set=test_set)
    assert resumed.resumed is not None and resumed.resumed.step == 4
    assert resumed.test_accuracy == whole.test_accuracy is not None
    np.testing.assert_array_equal(
        resumed.history.to_numpy(dtype=float), whole.history.to_numpy(dtype=float)
    )
    assert set(whole.state) == {
        *WEIGHT_NAMES,
        *(AVERAGE_PREFIX + name for name in WEIGHT_NAMES),
        "global_step",
    }  # LeNet-5's variables: the loop trained the network the settings name
    for name, value in whole.state.items():
        np.testing.assert_array_equal(resumed.state[name], value, err_msg=name)


def test_accuracy_and_the_saved_model_use_the_averaged_weights():
    model = AveragedLeNet5(784, 10, _config())
    rng = np.random.default_rng(3)
    for average in model.averages:  # averages unlike the weights, as after real training
        average.assign(rng.normal(0, 0.1, average.shape).astype(np.float32))
    x = rng.uniform(0, 1, (64, 784)).astype(np.float32)
    by_averages = np.argmax(logits(x, model.averages).numpy(), axis=1)
    by_weights = np.argmax(logits(x, model.weights).numpy(), axis=1)
    assert not np.array_equal(by_averages, by_weights)
    labels = tf.constant(by_averages.astype(np.int32))
    assert float(model.averaged_accuracy(tf.constant(x), labels)) == 1.0
    keras_model = averaged_keras_lenet5(model.state())
    np.testing.assert_array_equal(np.argmax(keras_model(x).numpy(), axis=1), by_averages)
