"""``register``: the gate's decision at every edge, the smoke test, and the pipeline on an
in-memory catalog (scored on the validation split, told to the registry, recorded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import AbstractDataset
from kedro.runner import SequentialRunner

from mnist_pipeline.parameters import RegistryParameters
from mnist_pipeline.pipeline_registry import register_pipelines
from mnist_pipeline.pipelines.register.nodes import (
    Scores,
    decide,
    describe_version,
    raw_images,
    score_challenger,
    scores_of,
    smoke_test,
)

from ..conftest import in_memory_catalog

CRITERIA = RegistryParameters(
    min_gain=0.001,
    max_class_drop=0.01,
    class_recall_floor=0.95,
    max_shifted_drop=0.01,
    max_calibration_rise=0.005,
    smoke_images=20,
)
LENIENT = RegistryParameters(
    min_gain=0,
    max_class_drop=1,
    class_recall_floor=0,
    max_shifted_drop=1,
    max_calibration_rise=1,
    smoke_images=1,
)
CHAMPION = Scores(0.9840, (0.99,) * 10, shifted_accuracy=0.90, calibration_error=0.010)


def _candidate(
    accuracy: float,
    recall: float = 0.99,
    digit: int = 3,
    shifted: float = 0.90,
    calibration: float = 0.010,
) -> Scores:
    recalls = [0.99] * 10
    recalls[digit] = recall
    return Scores(accuracy, tuple(recalls), shifted, calibration)


def test_the_first_version_passing_the_gate_is_the_champion():
    decision = decide(_candidate(0.5), None, CRITERIA, None)
    assert decision.promote and decision.reason.startswith("champion: the first version")
    assert set(decision.checks) == {"serving", "class_recall_floor"}


@pytest.mark.parametrize(
    ("accuracy", "promoted"),
    [(0.9850, True), (0.9851, True), (0.9849, False), (0.9840, False)],
    ids=["gain-exactly-min_gain", "just-above", "just-below", "a-tie"],
)
def test_the_accuracy_must_gain_at_least_min_gain(accuracy, promoted):
    decision = decide(_candidate(accuracy), CHAMPION, CRITERIA, None)
    assert decision.promote is promoted
    assert decision.checks["accuracy_gain"].startswith("pass" if promoted else "fail")
    if not promoted:
        assert "accuracy_gain (val accuracy" in decision.reason


@pytest.mark.parametrize(
    ("recall", "promoted"),
    [(0.98, True), (0.9801, True), (0.9799, False)],
    ids=["drop-exactly-max", "just-less", "just-more"],
)
def test_no_class_may_drop_more_than_max_class_drop(recall, promoted):
    decision = decide(_candidate(0.99, recall), CHAMPION, CRITERIA, None)
    assert decision.promote is promoted
    assert decision.checks["class_recall_drop"].startswith("pass" if promoted else "fail")
    assert "(digit 3)" in decision.checks["class_recall_drop"]


@pytest.mark.parametrize(
    ("recall", "promoted"),
    [(0.95, True), (0.9501, True), (0.9499, False)],
    ids=["exactly-at-the-floor", "just-above", "just-below"],
)
def test_no_class_may_fall_under_the_floor(recall, promoted):
    lenient = RegistryParameters(**{**CRITERIA.model_dump(), "max_class_drop": 1.0})
    decision = decide(_candidate(0.99, recall, digit=7), CHAMPION, lenient, None)
    assert decision.promote is promoted
    assert "lowest recall" in decision.checks["class_recall_floor"]
    # With no champion the floor still holds.
    assert decide(_candidate(0.99, recall, digit=7), None, lenient, None).promote is promoted


@pytest.mark.parametrize(
    ("shifted", "promoted"),
    [(0.89, True), (0.8901, True), (0.8899, False)],
    ids=["drop-exactly-max", "just-less", "just-more"],
)
def test_the_shifted_accuracy_may_not_drop_more_than_max_shifted_drop(shifted, promoted):
    decision = decide(_candidate(0.99, shifted=shifted), CHAMPION, CRITERIA, None)
    assert decision.promote is promoted
    assert decision.checks["shifted_accuracy_drop"].startswith("pass" if promoted else "fail")
    assert "shifted val accuracy" in decision.checks["shifted_accuracy_drop"]


@pytest.mark.parametrize(
    ("calibration", "promoted"),
    [(0.015, True), (0.0149, True), (0.0151, False)],
    ids=["rise-exactly-max", "just-less", "just-more"],
)
def test_the_calibration_error_may_not_rise_more_than_max_calibration_rise(calibration, promoted):
    decision = decide(_candidate(0.99, calibration=calibration), CHAMPION, CRITERIA, None)
    assert decision.promote is promoted
    assert decision.checks["calibration_error_rise"].startswith("pass" if promoted else "fail")


def test_a_more_accurate_model_that_breaks_on_shifted_digits_is_refused():
    """The robust gate's point: accuracy alone would promote it."""
    decision = decide(_candidate(0.995, shifted=0.80), CHAMPION, CRITERIA, None)
    assert decision.checks["accuracy_gain"].startswith("pass")
    assert not decision.promote and "shifted_accuracy_drop" in decision.reason


def test_a_served_model_that_cannot_answer_is_never_promoted():
    decision = decide(_candidate(0.999), CHAMPION, CRITERIA, "it failed to load (OSError)")
    assert not decision.promote
    assert decision.reason == "stays challenger: serving (it failed to load (OSError))"
    assert decide(_candidate(0.999), CHAMPION, CRITERIA, "").promote  # "": it answered


def test_every_failing_criterion_is_in_the_reason():
    decision = decide(_candidate(0.97, 0.90), CHAMPION, CRITERIA, None)
    assert not decision.promote
    decision = decide(
        _candidate(0.97, 0.90, shifted=0.5, calibration=0.2), CHAMPION, CRITERIA, None
    )
    for name in (
        "accuracy_gain",
        "class_recall_drop",
        "class_recall_floor",
        "shifted_accuracy_drop",
        "calibration_error_rise",
    ):
        assert name in decision.reason


def test_scores_are_accuracy_recall_per_class_shifted_accuracy_and_calibration():
    labels = np.array([0, 0, 1, 1, 2, 2])
    digits = np.array([0, 1, 1, 1, 2, 0])
    probabilities = np.eye(3)[digits] * 0.8 + 0.2 / 3  # every answer given with 0.8667
    shifted = np.eye(3)[[0, 0, 1, 2, 2, 2]]
    scores = scores_of(probabilities, labels, shifted, classes=3)
    assert scores.accuracy == pytest.approx(4 / 6)
    assert scores.class_recall == pytest.approx((0.5, 1.0, 0.5))
    assert scores.shifted_accuracy == pytest.approx(5 / 6)
    assert scores.calibration_error == pytest.approx(0.8 + 0.2 / 3 - 4 / 6)


class _RefusalError(Exception):
    """What the served model raises for a bad request (an MlflowException, HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Served:
    """A served model whose digit for an image is ``answers[its first pixel]``; it refuses
    pixels outside 0..255 (``refuses``), or fails to answer at all (``broken``)."""

    def __init__(self, answers: dict[int, int], refuses: bool = True, broken: bool = False):
        self.answers, self.refuses, self.broken = answers, refuses, broken

    def predict(self, images):
        images = np.asarray(images)
        if self.broken:
            raise OSError("no such file: model.keras")
        if self.refuses and images.max() > 255:
            raise _RefusalError("Pixel values must lie in 0..255 (white digit on black)")
        digits = [self.answers[int(image[0, 0])] for image in images]
        probabilities = np.eye(10)[digits]
        return pd.DataFrame(
            {
                "digit": digits,
                "probability": 1.0,
                **{f"p{d}": probabilities[:, d] for d in range(10)},
                "digit_likeness": 5.0,
                "rejected": False,
            }
        )


class _Version:
    """A registered version, as ``served_model`` and ``current_champion`` load them."""

    def __init__(self, version: str, model: _Served) -> None:
        self.name, self.version = "mnist_classifier", version
        self.model_uri, self.model = f"models:/mnist_classifier/{version}", model
        self.run = {
            "run_id": f"run-{version}",
            "params": {"train.model": "mlp", "train.precision": "float32"},
            "tags": {"tuning.study": "mnist_pipeline", "host": "here"},
        }


def _split(first_pixels: list[int], labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Model-input rows whose first pixel (of 255) names them, and one-hot labels."""
    x = np.zeros((len(labels), 784), np.float32)
    x[:, 0] = np.array(first_pixels) / 255
    return x, np.eye(10, dtype=np.float32)[labels]


def test_the_challenger_is_scored_on_what_its_served_model_answers():
    x, y = _split([1, 2, 3, 4], [0, 1, 2, 3])
    answers = score_challenger(_Version("2", _Served({1: 0, 2: 1, 3: 2, 4: 9})), x, y, x)
    assert answers["digits"].tolist() == [0, 1, 2, 9] and answers["error"] == ""
    assert answers["scores"].accuracy == pytest.approx(0.75)
    broken = score_challenger(_Version("2", _Served({}, broken=True)), x, y, x)
    assert broken["error"].startswith("the served model cannot answer (OSError: no such file")
    assert broken["scores"].accuracy == 0.0


def test_the_smoke_test_wants_the_same_answers_and_a_refusal_of_a_bad_pixel():
    x, y = _split([1, 2, 3], [4, 5, 6])
    served = _Served({1: 4, 2: 5, 3: 6})
    answers = score_challenger(_Version("2", served), x, y, x)
    registry = {**CRITERIA.model_dump(), "smoke_images": 2}
    assert smoke_test(_Version("2", served), x, answers, registry) == ""
    accepts = _Version("2", _Served({1: 4, 2: 5, 3: 6, 44: 4}, refuses=False))
    assert "did not refuse a pixel of 300" in smoke_test(accepts, x, answers, registry)
    changed = _Version("2", _Served({1: 4, 2: 7, 3: 6}))
    assert (
        smoke_test(changed, x, answers, registry) == "the served model answered [4, 7], not [4, 5]"
    )


def test_raw_images_are_the_model_inputs_pixels_0_to_255():
    x = np.array([[0.0, 0.5, 1.0, 1 / 255]], np.float32)
    np.testing.assert_array_equal(raw_images(x), [[[0, 128], [255, 1]]])


def test_the_versions_tags_say_what_was_decided_and_what_it_was_trained_as():
    x, y = _split([1, 2], [0, 1])
    challenger = _Version("3", _Served({1: 0, 2: 1}))
    answers = score_challenger(challenger, x, y, x)
    decision = decide(answers["scores"], CHAMPION, LENIENT, "")
    champion = {"version": "1", "scores": CHAMPION}
    update = describe_version(challenger, answers, champion, decision)
    assert update["promote"] is True
    assert update["tags"] == {
        "tuning.study": "mnist_pipeline",
        "architecture": "mlp",
        "precision": "float32",
        "val_accuracy": "1.000000",
        "val_shifted_accuracy": "1.000000",
        "val_calibration_error": "0.000000",
        "promoted": "true",
        "promotion": "champion: passes every criterion against the champion",
        "gate.against_version": "1",
        **{f"gate.{name}": figures for name, figures in decision.checks.items()},
    }
    assert update["outcome"]["model_uri"] == "models:/mnist_classifier/3"
    assert update["outcome"]["champion_val_accuracy"] == CHAMPION.accuracy


class _Registry(AbstractDataset):
    """Stands in for ``registry_update``: remembers the update; the version becomes champion
    when promoted."""

    def __init__(self) -> None:
        self.saved = None

    def _describe(self):
        return {}

    def save(self, data):
        self.saved = data

    def load(self):
        return {**self.saved["outcome"], "champion": self.saved["promote"]}


class _Evaluation(_Registry):
    def load(self):
        return self.saved


def test_the_register_pipeline_scores_on_the_validation_split_never_the_test_split():
    register = register_pipelines()["register"]
    x_val, y_val = _split([1, 2, 3, 4], [1, 2, 3, 4])
    x_test, y_test = _split([5, 6, 7, 8], [5, 6, 7, 8])
    x_val_shifted = x_val.copy()
    served = _Served({1: 1, 2: 2, 3: 3, 4: 4, 5: 0, 6: 0, 7: 0, 8: 0})  # right on validation only
    champion = _Served({1: 1, 2: 2, 3: 0, 4: 0, 5: 5, 6: 6, 7: 7, 8: 8})  # right on test only
    catalog = in_memory_catalog(
        {
            "served_model": _Version("2", served),
            "current_champion": _Version("1", champion),
            "x_val": x_val,
            "y_val": y_val,
            "x_val_shifted": x_val_shifted,
            "x_test": x_test,
            "y_test": y_test,
            "params:registry": {
                **CRITERIA.model_dump(),
                "class_recall_floor": 0.0,
                "max_class_drop": 1.0,
                "max_shifted_drop": 1.0,
                "max_calibration_rise": 1.0,
                "smoke_images": 2,
            },
        },
        register.all_outputs(),
    )
    registry, evaluation = _Registry(), _Evaluation()
    catalog["registry_update"], catalog["gate_evaluation"] = registry, evaluation
    SequentialRunner().run(register, catalog)
    assert catalog.load("challenger_answers")["scores"].accuracy == 1.0
    assert catalog.load("champion_scores")["scores"].accuracy == 0.5
    assert registry.saved["promote"] is True
    record = catalog.load("model_registration")
    assert (record["version"], record["champion"], record["against_champion"]) == (2, True, "1")
    assert evaluation.saved["digit"].tolist() == ["1", "2", "3", "4"]
    assert evaluation.saved["label"].tolist() == ["1", "2", "3", "4"]
    # The new version's reference for the monitor: its answers on the validation split.
    (version, reference), *others = catalog.load("monitoring_references").items()
    assert (version, others) == ("2", [])
    assert reference["digit"].tolist() == [1, 2, 3, 4]
    assert set(reference["source"]) == {"reference"}
    assert set(reference["model_version"]) == {"2"}
