"""Every namespace's parameters are checked before a run, naming parameter, value and range."""

from __future__ import annotations

import copy

import pytest
import yaml

from mnist_pipeline.parameters import check_parameters
from mnist_pipeline.training.config import ParameterError

from .conftest import PROJECT_ROOT

ALL = {"ingest", "preprocess", "train", "evaluate", "predict"}


@pytest.fixture
def parameters() -> dict:
    merged = {}
    for path in sorted((PROJECT_ROOT / "conf" / "base").glob("parameters_*.yml")):
        merged.update(yaml.safe_load(path.read_text()))
    return merged


def test_project_parameters_pass(parameters):
    assert set(parameters) == ALL
    check_parameters(parameters, ALL, training_file_examples=60000)


@pytest.mark.parametrize(
    ("namespace", "key", "value", "message"),
    [
        ("train", "steps", 0, "train.steps=0 is invalid: it must be a whole number >= 1"),
        ("train", "batch_size", -1, "train.batch_size=-1 is invalid"),
        (
            "train",
            "batch_size",
            56000,
            "train.batch_size=56000 is invalid: it must be at most the number of training "
            "examples (55000)",
        ),
        (
            "train",
            "learning_rate_decay",
            0,
            "train.learning_rate_decay=0 is invalid: it must be a number in (0.0, 1.0]",
        ),
        (
            "train",
            "regularization_rate",
            -0.1,
            "train.regularization_rate=-0.1 is invalid: it must be a number in [0.0, inf)",
        ),
        ("train", "unknown_knob", 3, "Unknown parameter(s) train.unknown_knob"),
        (
            "preprocess",
            "validation_size",
            60000,
            "preprocess.validation_size=60000 is invalid: it must be less than the 60000 examples",
        ),
        (
            "preprocess",
            "validation_size",
            0,
            "preprocess.validation_size=0 is invalid: it must be a whole number >= 1",
        ),
        ("preprocess", "shuffle", True, "Unknown parameter(s) preprocess.shuffle"),
        (
            "ingest",
            "num_classes",
            1,
            "ingest.num_classes=1 is invalid: it must be a whole number >= 2",
        ),
        ("evaluate", "mistakes_to_show", -3, "evaluate.mistakes_to_show=-3 is invalid"),
        (
            "predict",
            "box_size",
            29,
            "predict.box_size=29 is invalid: it must be a number in [1, 28]",
        ),
        (
            "predict",
            "box_size",
            2.5,
            "predict.box_size=2.5 is invalid: it must be a whole number >= 1",
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
    ],
)
def test_bad_value_is_named(parameters, namespace, key, value, message):
    bad = copy.deepcopy(parameters)
    bad[namespace][key] = value
    with pytest.raises(ParameterError) as excinfo:
        check_parameters(bad, ALL, training_file_examples=60000)
    assert message in str(excinfo.value)


def test_only_the_namespaces_a_pipeline_uses_are_checked(parameters):
    bad = copy.deepcopy(parameters)
    bad["train"]["steps"] = 0
    check_parameters(bad, {"ingest", "preprocess"}, training_file_examples=60000)


def test_missing_parameter_is_named(parameters):
    bad = copy.deepcopy(parameters)
    del bad["preprocess"]["validation_size"]
    with pytest.raises(ParameterError, match="preprocess.validation_size is missing"):
        check_parameters(bad, {"preprocess"}, training_file_examples=None)
