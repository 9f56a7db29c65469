"""Training parameters are checked before any work, with messages naming the parameter."""

from __future__ import annotations

import pytest

from mnist_pipeline.training.config import ParameterError, TrainingConfig

#: The tutorial's own settings (its constants, its EMA, its input_data split).
SEED_VALUES = {
    "steps": 20_000,
    "batch_size": 100,
    "hidden_units": 500,
    "init_stddev": 0.1,
    "init_bias": 0.1,
    "learning_rate_base": 0.8,
    "learning_rate_decay": 0.99,
    "decay_steps": None,
    "staircase": False,
    "regularization_rate": 1e-4,
    "moving_average_decay": 0.99,
}


def test_defaults_are_the_seed_values():
    config = TrainingConfig()
    assert {key: getattr(config, key) for key in SEED_VALUES} == SEED_VALUES


def test_project_parameters_file_holds_the_seed_values():
    import yaml

    from ..conftest import PROJECT_ROOT

    params = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_train.yml").read_text())
    config = TrainingConfig.from_params(params["train"])
    assert {key: getattr(config, key) for key in SEED_VALUES} == SEED_VALUES
    assert config == TrainingConfig()  # the file and the code's defaults agree


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("steps", 0, ">= 1"),
        ("steps", -5, ">= 1"),
        ("steps", 2.5, "whole number"),
        ("batch_size", 0, ">= 1"),
        ("eval_every", 0, ">= 1"),
        ("learning_rate_decay", 0.0, "(0.0, 1.0]"),
        ("learning_rate_decay", 1.5, "(0.0, 1.0]"),
        ("learning_rate_base", -0.1, "(0.0, inf)"),
        ("regularization_rate", -1e-4, "[0.0, inf)"),
        ("moving_average_decay", 1.0, "(0.0, 1.0)"),
        ("moving_average_decay", 0.0, "(0.0, 1.0)"),
        ("regularization_rate", 2.0, "below 1"),
        ("decay_steps", 0, "or null"),
        ("staircase", "yes", "true or false"),
        ("implementation", "plain", "one of reference, fused"),
    ],
)
def test_bad_values_are_named_with_their_range(key, value, allowed):
    with pytest.raises(ParameterError) as excinfo:
        TrainingConfig.from_params({key: value})
    message = str(excinfo.value)
    assert f"train.{key}={value!r}" in message
    assert allowed in message


def test_unknown_keys_are_named():
    with pytest.raises(ParameterError, match="train.step_count"):
        TrainingConfig.from_params({"step_count": 10})


def test_batch_larger_than_training_set_is_refused():
    with pytest.raises(ParameterError, match=r"train.batch_size=100 .* at most .* \(50\)"):
        TrainingConfig(batch_size=100).check_against_data(50)
