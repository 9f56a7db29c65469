"""The registry's side of the gate, on a real MLflow store (SQLite, as a project's own):
moving the champion alias, runs that finish together, by hand, and what a decision writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pytest
from kedro.io import DatasetError

from mnist_pipeline.tracking import registry
from mnist_pipeline.tracking.registry import (
    RegisteredModelDataset,
    RegistryError,
    apply_update,
    promote_by_hand,
    roll_back,
)

NAME = "mnist_classifier"


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its tables made (once: MLflow migrates a new store)."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def store(empty_store, tmp_path, monkeypatch):
    """A client on a fresh copy of the store, which MLflow's default client uses too."""
    path = tmp_path / "mlflow.db"
    shutil.copy(empty_store, path)
    uri = f"sqlite:///{path}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(NAME)
    return client


def _versions(client, tags: dict[str, dict[str, str]], champion: str | None = None) -> None:
    """Register versions "1", "2", ... with their tags; give ``champion`` the alias."""
    for number in sorted(tags, key=int):
        version = client.create_model_version(NAME, source=f"file:///models/{number}")
        assert str(version.version) == number
        for key, value in tags[number].items():
            client.set_model_version_tag(NAME, number, key, value)
    if champion is not None:
        client.set_registered_model_alias(NAME, "champion", champion)


def _champion(client) -> str:
    return str(client.get_model_version_by_alias(NAME, "champion").version)


def _tags(client, number: str) -> dict[str, str]:
    return client.get_model_version(NAME, number).tags


def test_runs_finishing_together_leave_the_alias_on_the_best_promoted_version(store):
    # Both passed the gate against the old champion 1; version 3 (worse) wrote the alias last.
    _versions(
        store,
        {
            "1": {"promoted": "true", "val_accuracy": "0.980"},
            "2": {"promoted": "true", "val_accuracy": "0.986"},
            "3": {"promoted": "true", "val_accuracy": "0.984"},
            "4": {"promoted": "false", "val_accuracy": "0.990"},
        },
        champion="3",
    )
    store.create_registered_model("another_model")  # the search names the model it looks in
    registry._settle_champion(store)
    assert _champion(store) == "2"
    assert _tags(store, "2")["replaced_champion"] == "3"


def test_promote_by_hand_and_roll_back(store, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    _versions(store, {"1": {}, "2": {}}, champion="1")
    promote_by_hand(store, "2", "a better test accuracy")
    assert _champion(store) == "2"
    assert _tags(store, "2")["promoted_by_hand"] == "alice: a better test accuracy"
    assert _tags(store, "2")["replaced_champion"] == "1"
    message = roll_back(store, "2 misreads sevens")
    assert _champion(store) == "1" and "version 1" in message
    assert _tags(store, "2")["rolled_back"] == "alice: 2 misreads sevens"
    assert _tags(store, "1")["restored_champion"] == "alice: 2 misreads sevens"


def test_the_champion_settled_again_is_not_its_own_predecessor(store):
    _versions(store, {"1": {"promoted": "true", "val_accuracy": "0.980"}}, champion="1")
    registry._settle_champion(store)
    promote_by_hand(store, "1", "once more")
    assert _champion(store) == "1" and "replaced_champion" not in _tags(store, "1")


def test_by_hand_an_unknown_version_or_nothing_to_roll_back_is_one_message(store):
    _versions(store, {"1": {}}, champion="1")
    with pytest.raises(RegistryError, match="There is no version 9 of mnist_classifier"):
        promote_by_hand(store, "9", "typo")
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        roll_back(store, "why not")


def _update(version: int, accuracy: float, promote: bool, against: str = "1") -> dict:
    """What ``describe_version`` says of a version."""
    reason = "champion: passes every criterion" if promote else "stays challenger: accuracy_gain"
    checks = {"serving": "pass: answers raw images, refuses bad ones"}
    return {
        "tags": {"val_accuracy": f"{accuracy:.6f}", "promoted": str(promote).lower()},
        "promote": promote,
        "outcome": {
            "registered_model": NAME,
            "version": version,
            "model_uri": f"models:/{NAME}/{version}",
            "training_run_id": f"run-{version}",
            "architecture": "mlp",
            "precision": "float32",
            "val_accuracy": accuracy,
            "class_recall": [accuracy] * 10,
            "val_shifted_accuracy": accuracy - 0.05,
            "val_calibration_error": 0.01,
            "against_champion": against,
            "champion_val_accuracy": 0.9,
            "checks": checks,
            "promotion": reason,
        },
        "run": {
            "run_id": f"run-{version}",
            "params": {"train.steps": "20000"},
            "metrics": {"test_accuracy": 0.98},
            "tags": {},
            "datasets": [{"context": "training", "name": "mnist-train", "digest": "abc"}],
            "seconds": 42.0,
        },
    }


def test_a_decision_tags_the_version_and_writes_its_card_and_a_promotion_moves_the_alias(store):
    _versions(store, {"1": {"promoted": "true", "val_accuracy": "0.900000"}, "2": {}}, "1")
    outcome = apply_update(store, _update(2, 0.95, promote=True))
    assert outcome["champion"] is True and outcome["promotion"].startswith("champion:")
    version = store.get_model_version(NAME, "2")
    assert version.tags["promoted"] == "true" and version.tags["replaced_champion"] == "1"
    assert _champion(store) == "2"
    assert str(store.get_model_version_by_alias(NAME, "challenger").version) == "2"
    assert version.description.startswith(f"# {NAME} version 2")
    assert "trained in MLflow run `run-2` in 42 s." in version.description
    assert "- training: `mnist-train`, digest `abc`" in version.description


def test_a_version_that_stays_challenger_leaves_the_champion_alone(store):
    _versions(store, {"1": {"promoted": "true", "val_accuracy": "0.900000"}, "2": {}}, "1")
    outcome = apply_update(store, _update(2, 0.89, promote=False))
    assert outcome["champion"] is False
    assert _champion(store) == "1"
    assert str(store.get_model_version_by_alias(NAME, "challenger").version) == "2"
    assert _tags(store, "2")["promoted"] == "false"


def test_a_run_that_promotes_after_a_better_one_leaves_the_alias_on_the_better(store):
    """Versions 2 and 3 were decided against champion 1 at the same moment; 2 (better) is
    promoted but has not moved the alias yet when 3 does: 3's update must hand it on."""
    _versions(
        store,
        {
            "1": {"promoted": "true", "val_accuracy": "0.900000"},
            "2": {"promoted": "true", "val_accuracy": "0.990000"},
            "3": {},
        },
        champion="1",
    )
    outcome = apply_update(store, _update(3, 0.95, promote=True))
    assert _tags(store, "3")["promoted"] == "true"
    assert _champion(store) == "2" and outcome["champion"] is False
    assert "then version 2 (val_accuracy 0.9900)" in outcome["promotion"]
    assert _tags(store, "3")["promotion"] == outcome["promotion"]
    assert "then version 2" in store.get_model_version(NAME, "3").description


def test_the_champion_dataset_is_none_or_a_message_when_there_is_no_champion(store):
    _versions(store, {"1": {}})
    assert RegisteredModelDataset().load() is None
    assert RegisteredModelDataset().exists() is False
    with pytest.raises(DatasetError) as raised:  # Kedro wraps what a dataset raises
        RegisteredModelDataset(required=True).load()
    assert isinstance(raised.value.__cause__, RegistryError)
    assert "There is no mnist_classifier@champion model" in str(raised.value.__cause__)
