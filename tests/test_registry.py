"""The gate between a new version (the challenger) and the champion, and moving the alias."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mnist_pipeline.parameters import RegistryParameters
from mnist_pipeline.tracking import registry
from mnist_pipeline.tracking.registry import (
    ModelRegistryHook,
    RegistryError,
    Scores,
    decide,
    promote_by_hand,
    roll_back,
    scores_of,
)

CRITERIA = RegistryParameters(
    min_gain=0.001, max_class_drop=0.01, class_recall_floor=0.95, smoke_images=20
)
CHAMPION = Scores(0.9840, (0.99,) * 10)


def _candidate(accuracy: float, recall: float = 0.99, digit: int = 3) -> Scores:
    recalls = [0.99] * 10
    recalls[digit] = recall
    return Scores(accuracy, tuple(recalls))


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


def test_a_served_model_that_cannot_answer_is_never_promoted():
    decision = decide(_candidate(0.999), CHAMPION, CRITERIA, "it failed to load (OSError)")
    assert not decision.promote
    assert decision.reason == "stays challenger: serving (it failed to load (OSError))"


def test_every_failing_criterion_is_in_the_reason():
    decision = decide(_candidate(0.97, 0.90), CHAMPION, CRITERIA, None)
    assert not decision.promote
    for name in ("accuracy_gain", "class_recall_drop", "class_recall_floor"):
        assert name in decision.reason


def test_scores_are_accuracy_and_recall_per_class():
    labels = np.array([0, 0, 1, 1, 2, 2])
    digits = np.array([0, 1, 1, 1, 2, 0])
    scores = scores_of(digits, labels, classes=3)
    assert scores.accuracy == pytest.approx(4 / 6)
    assert scores.class_recall == pytest.approx((0.5, 1.0, 0.5))


class _Registry:
    """An in-memory stand-in for the MLflow registry calls that moving the alias makes.

    Like MLflow's SQL store, it answers with whole-number versions and takes texts."""

    tracking_uri = "memory://"

    def __init__(self, versions: dict[str, dict[str, str]], alias: str | None = None) -> None:
        self.tags = versions  # version -> tags
        self.alias = alias

    def _version(self, version: str) -> SimpleNamespace:
        return SimpleNamespace(version=int(version), tags=self.tags[version])

    def search_model_versions(self, filter_string: str) -> list[SimpleNamespace]:
        return [self._version(v) for v in self.tags]

    def get_model_version(self, name: str, version: str) -> SimpleNamespace:
        from mlflow.exceptions import MlflowException

        if version not in self.tags:
            raise MlflowException(f"no version {version}")
        return self._version(version)

    def get_model_version_by_alias(self, name: str, alias: str) -> SimpleNamespace:
        from mlflow.exceptions import MlflowException

        if self.alias is None:
            raise MlflowException("no such alias")
        return self._version(self.alias)

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.tags[str(version)][key] = value

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.alias = str(version)


def test_runs_finishing_together_leave_the_alias_on_the_best_promoted_version():
    # Both passed the gate against the old champion 1; version 3 (worse) wrote the alias last.
    client = _Registry(
        {
            "1": {"promoted": "true", "val_accuracy": "0.980"},
            "2": {"promoted": "true", "val_accuracy": "0.986"},
            "3": {"promoted": "true", "val_accuracy": "0.984"},
            "4": {"promoted": "false", "val_accuracy": "0.990"},
        },
        alias="3",
    )
    registry._settle_champion(client)
    assert client.alias == "2"
    assert client.tags["2"]["replaced_champion"] == "3"


def test_promote_by_hand_and_roll_back(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    client = _Registry({"1": {}, "2": {}}, alias="1")
    promote_by_hand(client, "2", "a better test accuracy")
    assert client.alias == "2"
    assert client.tags["2"]["promoted_by_hand"] == "alice: a better test accuracy"
    assert client.tags["2"]["replaced_champion"] == "1"
    message = roll_back(client, "2 misreads sevens")
    assert client.alias == "1" and "version 1" in message
    assert client.tags["2"]["rolled_back"] == "alice: 2 misreads sevens"
    assert client.tags["1"]["restored_champion"] == "alice: 2 misreads sevens"


def test_the_champion_settled_again_is_not_its_own_predecessor():
    client = _Registry({"1": {"promoted": "true", "val_accuracy": "0.980"}}, alias="1")
    registry._settle_champion(client)
    promote_by_hand(client, "1", "once more")
    assert client.alias == "1" and "replaced_champion" not in client.tags["1"]


def test_by_hand_an_unknown_version_or_nothing_to_roll_back_is_one_message():
    client = _Registry({"1": {}}, alias="1")
    with pytest.raises(RegistryError, match="There is no version 9 of mnist_classifier"):
        promote_by_hand(client, "9", "typo")
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        roll_back(client, "why not")


class _Catalog:
    """A catalog whose arrays say which split they are."""

    def __init__(self) -> None:
        self.saved = {}

    def load(self, name: str):
        if name == "parameters":
            return {"registry": CRITERIA.model_dump()}
        return np.full((2, 784), {"x_val": 1.0, "y_val": 2.0, "x_test": 3.0, "y_test": 4.0}[name])

    def save(self, name: str, data) -> None:
        self.saved[name] = data


def test_the_gate_scores_on_the_validation_split_never_the_test_split(monkeypatch):
    from kedro_mlflow.pipeline.pipeline_ml import PipelineML

    seen = {}

    def gate(client, run_id, x, y, criteria):
        seen.update(x=float(x[0, 0]), y=float(y[0, 0]), criteria=criteria)
        return {"registered_model": "m", "version": 1, "model_uri": "u", "promotion": "p"}

    monkeypatch.setattr(registry, "gate_new_version", gate)
    hook = ModelRegistryHook()
    hook._training_run_id = "run-1"
    pipeline = PipelineML.__new__(PipelineML)
    catalog = _Catalog()
    hook.after_pipeline_run(pipeline, catalog)
    assert (seen["x"], seen["y"]) == (1.0, 2.0)  # x_val, y_val
    assert seen["criteria"] == CRITERIA
    assert catalog.saved["model_registration"]["version"] == 1


class _GatedRegistry(_Registry):
    """The registry as the gate sees it: runs, versions by run, descriptions."""

    def __init__(self, versions, alias, run_versions) -> None:
        super().__init__(versions, alias)
        self.run_versions = run_versions  # run id -> version
        self.descriptions = {}

    def search_model_versions(self, filter_string: str):
        for run_id, version in self.run_versions.items():
            if f"run_id = '{run_id}'" in filter_string:
                return [self._version(version)]
        return super().search_model_versions(filter_string)

    def get_run(self, run_id: str):
        return SimpleNamespace(
            info=SimpleNamespace(run_id=run_id),
            data=SimpleNamespace(tags={}, params={"train.model": "mlp"}, metrics={}),
        )

    def update_model_version(self, name: str, version: str, description: str) -> None:
        self.descriptions[str(version)] = description


def test_a_run_that_promotes_after_a_better_one_leaves_the_alias_on_the_better(monkeypatch):
    """Versions 2 and 3 were decided against champion 1 at the same moment; 2 (better)
    is promoted but has not moved the alias yet when 3 does: 3's run must hand it on."""
    labels = np.arange(20) % 10
    y_val = np.eye(10)[labels]
    answers = {
        "models:/mnist_classifier/3": labels.copy(),
        "models:/mnist_classifier/1": labels.copy(),
    }
    answers["models:/mnist_classifier/3"][0] = 1  # 0.95
    answers["models:/mnist_classifier/1"][:2] = 5  # 0.90
    monkeypatch.setattr(registry, "served_digits", lambda uri, images: answers[uri])
    monkeypatch.setattr(registry, "champion_digits", lambda uri, images: answers[uri])
    monkeypatch.setattr(registry, "smoke_test", lambda uri, images, expected: None)
    monkeypatch.setattr(registry, "_log_evaluation", lambda run_id, digits, labels: None)
    monkeypatch.setattr(
        "mnist_pipeline.tracking.model_card.model_card", lambda run, outcome: "card"
    )
    client = _GatedRegistry(
        {
            "1": {"promoted": "true", "val_accuracy": "0.900000"},
            "2": {"promoted": "true", "val_accuracy": "0.990000"},
            "3": {},
        },
        alias="1",
        run_versions={"run-3": "3"},
    )
    lenient = RegistryParameters(
        min_gain=0.0, max_class_drop=1.0, class_recall_floor=0.0, smoke_images=5
    )
    outcome = registry.gate_new_version(client, "run-3", np.zeros((20, 784)), y_val, lenient)
    assert client.tags["3"]["promoted"] == "true"
    assert client.alias == "2" and not outcome["champion"]
    assert "then version 2 (val_accuracy 0.9900)" in outcome["promotion"]
