"""Every namespace's parameters are checked before a run, naming parameter, value and range."""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml
from kedro.config import OmegaConfigLoader

from mnist_pipeline import settings
from mnist_pipeline.parameters import (
    NAMESPACES,
    LeNet5Parameters,
    MLPParameters,
    ParameterError,
    check_parameters,
    train_parameters,
)

from .conftest import PROJECT_ROOT

ALL = {
    "ingest",
    "preprocess",
    "train",
    "evaluate",
    "predict",
    "tune",
    "registry",
    "serving",
    "prediction_log",
    "monitor",
}

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


@pytest.fixture
def parameters() -> dict:
    merged = {}
    for path in sorted((PROJECT_ROOT / "conf" / "base").glob("parameters_*.yml")):
        merged.update(yaml.safe_load(path.read_text()))
    return merged


def test_project_parameters_pass(parameters):
    assert set(parameters) == ALL
    check_parameters(parameters, ALL, training_file_examples=60000)


def test_defaults_are_the_seed_values_and_the_file_agrees(parameters):
    config = MLPParameters()
    assert {key: getattr(config, key) for key in SEED_VALUES} == SEED_VALUES
    assert train_parameters(parameters["train"]) == config


#: (namespace, key, bad value, what the message says). Every field of every namespace,
#: and every rule on several fields or on the data, has a row (checked below).
RULES = [
    ("ingest", "num_classes", 1, "ingest.num_classes=1 is invalid: it must be a whole number >= 2"),
    ("preprocess", "validation_size", 0, "it must be a whole number >= 1"),
    (
        "preprocess",
        "validation_size",
        60000,
        "preprocess.validation_size=60000 is invalid: it must be less than the 60000 examples",
    ),
    ("train", "model", "vgg", "train.model='vgg' is invalid: it must be one of mlp, lenet5"),
    ("train", "steps", 0, "train.steps=0 is invalid: it must be a whole number >= 1"),
    ("train", "steps", 2.5, "train.steps=2.5 is invalid: it must be a whole number >= 1"),
    ("train", "steps", True, "train.steps=True is invalid: it must be a whole number >= 1"),
    ("train", "batch_size", -1, "train.batch_size=-1 is invalid: it must be a whole number >= 1"),
    (
        "train",
        "batch_size",
        56000,
        "train.batch_size=56000 is invalid: it must be at most the number of training "
        "examples (55000)",
    ),
    ("train", "hidden_units", 0, "train.hidden_units=0 is invalid: it must be a whole number"),
    ("train", "init_stddev", 0.0, "train.init_stddev=0.0 is invalid: it must be a number in (0.0"),
    ("train", "init_bias", float("nan"), "train.init_bias=nan is invalid: it must be a number"),
    ("train", "learning_rate_base", -0.1, "it must be a number in (0.0, inf)"),
    (
        "train",
        "learning_rate_decay",
        0,
        "train.learning_rate_decay=0 is invalid: it must be a number in (0.0, 1.0]",
    ),
    ("train", "learning_rate_decay", 1.5, "it must be a number in (0.0, 1.0]"),
    (
        "train",
        "decay_steps",
        0,
        "train.decay_steps=0 is invalid: it must be a whole number >= 1 or null",
    ),
    ("train", "staircase", "yes", "train.staircase='yes' is invalid: it must be true or false"),
    (
        "train",
        "regularization_rate",
        -0.1,
        "train.regularization_rate=-0.1 is invalid: it must be a number in [0.0, inf)",
    ),
    (
        "train",
        "regularization_rate",
        2.0,
        "train.learning_rate_base=0.8 and train.regularization_rate=2.0 are invalid: each SGD "
        "step shrinks the weights by their product, which must be below 1",
    ),
    ("train", "moving_average_decay", 1.0, "it must be a number in (0.0, 1.0)"),
    ("train", "moving_average_decay", 0.0, "it must be a number in (0.0, 1.0)"),
    ("train", "eval_every", 0, "train.eval_every=0 is invalid: it must be a whole number >= 1"),
    ("train", "seed", -1, "train.seed=-1 is invalid: it must be a whole number >= 0"),
    ("train", "resume", "no", "train.resume='no' is invalid: it must be true or false"),
    ("train", "implementation", "plain", "it must be one of reference, fused"),
    ("train", "precision", "float16", "it must be one of float32, mixed_bfloat16"),
    ("train", "kernel_size", 0, "train.kernel_size=0 is invalid: it must be a whole number >= 1"),
    ("train", "conv1_filters", 0, "train.conv1_filters=0 is invalid"),
    ("train", "conv2_filters", 0, "train.conv2_filters=0 is invalid"),
    ("train", "fc_units", 0, "train.fc_units=0 is invalid"),
    (
        "train",
        "dropout_rate",
        1.0,
        "train.dropout_rate=1.0 is invalid: it must be a number in [0.0, 1.0)",
    ),
    (
        "train",
        "unknown_knob",
        3,
        "Unknown parameter(s) train.unknown_knob in conf/base/parameters_train.yml",
    ),
    ("train", "lenet5", {"widht": 3}, "Unknown parameter(s) train.lenet5.widht"),
    ("preprocess", "shuffle", True, "Unknown parameter(s) preprocess.shuffle"),
    (
        "evaluate",
        "mistakes_to_show",
        -3,
        "evaluate.mistakes_to_show=-3 is invalid: it must be a whole number >= 0",
    ),
    (
        "predict",
        "box_size",
        29,
        "predict.box_size=29 is invalid: it must be a whole number in [1, 28]",
    ),
    (
        "predict",
        "box_size",
        2.5,
        "predict.box_size=2.5 is invalid: it must be a whole number in [1, 28]",
    ),
    (
        "predict",
        "ink_threshold",
        0,
        "predict.ink_threshold=0 is invalid: it must be a number in (0, 1]",
    ),
    (
        "predict",
        "min_contrast",
        300,
        "predict.min_contrast=300 is invalid: it must be a number in [0, 255]",
    ),
    ("tune", "study_name", "", "tune.study_name='' is invalid"),
    ("tune", "trials", 0, "tune.trials=0 is invalid: it must be a whole number >= 1 or null"),
    ("tune", "timeout_minutes", 0, "tune.timeout_minutes=0 is invalid: it must be a number in (0"),
    ("tune", "steps", 0, "tune.steps=0 is invalid: it must be a whole number >= 1"),
    ("tune", "eval_every", 0, "tune.eval_every=0 is invalid: it must be a whole number >= 1"),
    ("tune", "seed", -1, "tune.seed=-1 is invalid: it must be a whole number >= 0"),
    ("tune", "worker", -1, "tune.worker=-1 is invalid: it must be a whole number >= 0"),
    ("tune", "startup_trials", -1, "tune.startup_trials=-1 is invalid"),
    (
        "tune",
        "pruner",
        "hyperband",
        "tune.pruner='hyperband' is invalid: it must be one of percentile, none",
    ),
    (
        "tune",
        "pruner_percentile",
        100,
        "tune.pruner_percentile=100 is invalid: it must be a number in (0, 100)",
    ),
    ("tune", "pruner_startup_trials", -1, "tune.pruner_startup_trials=-1 is invalid"),
    ("tune", "pruner_warmup_steps", -1, "tune.pruner_warmup_steps=-1 is invalid"),
    ("tune", "train_best", "yes", "tune.train_best='yes' is invalid: it must be true or false"),
    (
        "tune",
        "space",
        {"widht": {"low": 1, "high": 2}},
        "tune.space.widht is invalid: the search varies train parameters",
    ),
    (
        "tune",
        "space",
        {"seed": {"choices": [0, 1]}},
        "tune.space.seed is invalid: the search varies train parameters",
    ),
    (
        "tune",
        "space",
        {"learning_rate_base": {"low": 0.5, "high": 0.5}},
        "tune.space.learning_rate_base is invalid: its range is empty (low 0.5 is not below "
        "high 0.5)",
    ),
    (
        "tune",
        "space",
        {"regularization_rate": {"low": 0.0, "high": 1e-3, "log": True}},
        "tune.space.regularization_rate is invalid: a log scale needs low > 0, not 0",
    ),
    (
        "tune",
        "space",
        {"batch_size": {"choices": []}},
        "tune.space.batch_size is invalid: its choices are empty",
    ),
    (
        "tune",
        "space",
        {"hidden_units": {"low": 100}},
        "tune.space.hidden_units is invalid: give either low and high, or choices",
    ),
    (
        "tune",
        "space",
        {"model": {"low": 1, "high": 2}},
        "tune.space.model is invalid: train.model takes choices, not a range",
    ),
    (
        "tune",
        "space",
        {"batch_size": {"low": 0, "high": 200}},
        "tune.space.batch_size is invalid: Parameter train.batch_size=0 is invalid: it must be "
        "a whole number >= 1",
    ),
    (
        "tune",
        "space",
        {"batch_size": {"choices": [50], "lo": 1}},
        "Unknown parameter(s) tune.space.batch_size.lo",
    ),
    ("registry", "min_gain", 2, "registry.min_gain=2 is invalid: it must be a number in [-1, 1]"),
    ("registry", "max_class_drop", -0.1, "registry.max_class_drop=-0.1 is invalid"),
    ("registry", "class_recall_floor", 1.5, "registry.class_recall_floor=1.5 is invalid"),
    ("registry", "smoke_images", 0, "registry.smoke_images=0 is invalid: it must be a whole"),
    ("serving", "exports", ["pickle"], "serving.exports.0 is invalid: Input should be"),
    ("prediction_log", "enabled", "yes", "prediction_log.enabled='yes' is invalid"),
    ("prediction_log", "location", "", "prediction_log.location='' is invalid"),
    ("prediction_log", "flush_every", 0, "prediction_log.flush_every=0 is invalid"),
    ("prediction_log", "flush_seconds", 0.0, "prediction_log.flush_seconds=0.0 is invalid"),
    ("prediction_log", "keep_images", 1, "prediction_log.keep_images=1 is invalid"),
    ("monitor", "window_hours", 0.0, "monitor.window_hours=0.0 is invalid"),
    ("monitor", "last_records", 0, "monitor.last_records=0 is invalid"),
    ("monitor", "min_records", 1, "monitor.min_records=1 is invalid"),
    ("monitor", "max_feature_distance", 0.0, "monitor.max_feature_distance=0.0 is invalid"),
    ("monitor", "max_digit_mix_distance", 2.0, "monitor.max_digit_mix_distance=2.0 is invalid"),
    ("monitor", "max_rejection_rise", 0.0, "monitor.max_rejection_rise=0.0 is invalid"),
    ("serving", "max_request_images", 0, "serving.max_request_images=0 is invalid"),
    ("serving", "max_image_bytes", 0, "serving.max_image_bytes=0 is invalid"),
    ("serving", "max_image_pixels", 0, "serving.max_image_pixels=0 is invalid"),
    (
        "serving",
        "reject_rate",
        1.0,
        "serving.reject_rate=1.0 is invalid: it must be a number in [0, 1)",
    ),
    ("registry", "max_shifted_drop", -1, "registry.max_shifted_drop=-1 is invalid"),
    ("registry", "max_calibration_rise", 2, "registry.max_calibration_rise=2 is invalid"),
    (
        "evaluate",
        "non_digits",
        {"count": 0, "seed": 1},
        "evaluate.non_digits.count is invalid: Input should be greater than or equal to 1",
    ),
    (
        "train",
        "augmentation",
        {"rotation_degrees": -1},
        "train.augmentation.rotation_degrees is invalid: Input should be greater than or equal",
    ),
    (
        "preprocess",
        "shifted",
        {"seed": 1, "scale": 1.0},
        "preprocess.shifted.scale is invalid: Input should be less than 1",
    ),
]


#: LeNet-5's own settings: set under ``train.lenet5``, for ``model: lenet5``.
LENET5_ONLY = set(LeNet5Parameters.model_fields) - set(MLPParameters.model_fields)


@pytest.mark.parametrize(("namespace", "key", "value", "message"), RULES)
def test_bad_value_is_named_in_one_line(parameters, namespace, key, value, message):
    bad = copy.deepcopy(parameters)
    if namespace == "train" and key in LENET5_ONLY:
        bad["train"]["model"] = "lenet5"
        bad["train"]["lenet5"][key] = value
    else:
        bad[namespace][key] = value
    with pytest.raises(ParameterError) as excinfo:
        check_parameters(bad, ALL, training_file_examples=60000)
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_every_field_has_a_rule_in_the_table():
    covered = {(namespace, key) for namespace, key, _, _ in RULES}
    models = {ns: [check.__self__] for ns, check in NAMESPACES.items() if ns != "train"}
    models["train"] = [MLPParameters, LeNet5Parameters]
    fields = {
        (ns, key) for ns, kinds in models.items() for kind in kinds for key in kind.model_fields
    }
    assert fields <= covered, sorted(fields - covered)


def test_the_settings_of_the_network_trained_are_its_own():
    lenet5 = train_parameters({"model": "lenet5", "hidden_units": 800, "lenet5": {"steps": 6}})
    assert isinstance(lenet5, LeNet5Parameters) and lenet5.steps == 6
    assert not hasattr(lenet5, "hidden_units")  # the MLP's own, beside them in the file
    mlp = train_parameters({"hidden_units": 800, "lenet5": {"steps": 6}})
    assert isinstance(mlp, MLPParameters) and mlp.steps == 20_000 and mlp.hidden_units == 800
    with pytest.raises(ParameterError, match=r"Unknown parameter\(s\) train.fc_units"):
        train_parameters({"fc_units": 64})  # LeNet-5's own goes under train.lenet5


def test_lenet5_values_are_checked_when_they_apply(parameters):
    bad = copy.deepcopy(parameters)
    bad["train"].update(model="lenet5", lenet5={**bad["train"]["lenet5"], "steps": 0})
    with pytest.raises(ParameterError, match=r"train\.steps=0 is invalid"):
        check_parameters(bad, {"train"}, training_file_examples=None)


def test_only_the_namespaces_a_pipeline_uses_are_checked(parameters):
    bad = copy.deepcopy(parameters)
    bad["train"]["steps"] = 0
    check_parameters(bad, {"ingest", "preprocess"}, training_file_examples=60000)


def test_missing_parameter_is_named(parameters):
    bad = copy.deepcopy(parameters)
    del bad["preprocess"]["validation_size"]
    with pytest.raises(ParameterError, match="preprocess.validation_size is missing"):
        check_parameters(bad, {"preprocess"}, training_file_examples=None)


def test_the_rules_on_the_data_wait_until_its_size_is_known():
    train_parameters({"batch_size": 100})
    with pytest.raises(ParameterError, match=r"train.batch_size=100 .* at most .* \(50\)"):
        train_parameters({"batch_size": 100}, training_examples=50)


def test_a_search_without_a_budget_is_refused(parameters):
    bad = copy.deepcopy(parameters)
    bad["tune"].update(trials=None, timeout_minutes=None)
    with pytest.raises(ParameterError, match="tune.trials and tune.timeout_minutes are both null"):
        check_parameters(bad, {"tune"}, training_file_examples=None)


def test_a_search_may_vary_lenet5s_own_settings_and_the_length(parameters):
    ok = copy.deepcopy(parameters)
    ok["tune"]["space"] = {
        "model": {"choices": ["mlp", "lenet5"]},
        "lenet5.fc_units": {"choices": [256, 512]},
        "steps": {"low": 2000, "high": 20000, "step": 2000},
    }
    check_parameters(ok, {"tune"}, training_file_examples=60000)


def test_an_environment_and_params_change_only_the_keys_they_name(tmp_path):
    """conf/local's parameters and ``--params`` keep the rest of each namespace (Kedro's
    default merge would replace the namespace: ``--params=train.steps=300`` beside any
    conf/local parameters file trained with none of parameters_train.yml)."""
    shutil.copytree(PROJECT_ROOT / "conf" / "base", tmp_path / "base")
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "parameters_registry.yml").write_text("registry: {min_gain: 0.0}\n")
    loader = OmegaConfigLoader(
        conf_source=str(tmp_path),
        runtime_params={"train": {"steps": 300}},
        **settings.CONFIG_LOADER_ARGS,
    )
    merged = loader["parameters"]
    shipped = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_train.yml").read_text())
    assert merged["train"] == {**shipped["train"], "steps": 300}
    assert merged["registry"]["min_gain"] == 0.0
    assert merged["registry"]["class_recall_floor"] == 0.95
