"""The model registry: every trained model a version of ``mnist_classifier``; the alias
``champion`` names the one that serves.

The gate itself is the ``register`` pipeline (:mod:`mnist_pipeline.pipelines.register`);
this module is its I/O with MLflow's registry, as catalog datasets:

- :class:`RegisteredModelDataset` loads a registered version (the champion by default) as
  a :class:`RegisteredModel`: its number, its training run, and its served model;
- :class:`RegistryUpdateDataset` saves what the gate decided: the version takes the alias
  ``challenger``, its tags and its model card (the description), and, when promoted, the
  alias ``champion`` (settled with runs that finished at the same time); it loads what
  the registry made of it;
- :class:`MlflowEvaluationDataset` logs MLflow's own evaluation of the challenger's
  answers on the active run.

By hand: ``kedro champion promote VERSION --reason ...`` and ``kedro champion rollback
--reason ...`` (:func:`promote_by_hand`, :func:`roll_back`), each leaving who and why.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from mnist_pipeline.errors import UserFacingError
from mnist_pipeline.pipelines.register.model_card import model_card

from .model import (
    CHAMPION_ALIAS,
    REGISTERED_MODEL_NAME,
    RegisteredModel,
    load_served_model,
    number_of,
    registered_model,
    registered_model_uri,
)

#: The alias of the newest version until the gate has spoken.
CHALLENGER_ALIAS = "challenger"


class RegistryError(UserFacingError, RuntimeError):
    """A request to the registry that cannot be carried out (no such version, ...)."""


def _alias(client, alias: str) -> Any | None:
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        return client.get_model_version_by_alias(REGISTERED_MODEL_NAME, alias)
    except MlflowException:  # no such alias (or model) yet
        return None


class RegisteredModelDataset(AbstractDataset[None, "RegisteredModel | None"]):
    """Loads the version of ``mnist_classifier`` that holds ``alias`` as a
    :class:`RegisteredModel`, or ``None`` when none does (unless ``required``: then an
    error saying to train one first).

    Example catalog entry::

        champion_model:
          type: mnist_pipeline.tracking.registry.RegisteredModelDataset
          alias: champion
          required: true
    """

    def __init__(
        self, alias: str = CHAMPION_ALIAS, required: bool = False, metadata: dict | None = None
    ) -> None:
        """Name the alias; ``required``: a missing one is an error, not ``None``."""
        self._alias = alias
        self._required = required
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"model": f"{REGISTERED_MODEL_NAME}@{self._alias}", "required": self._required}

    def _exists(self) -> bool:
        import mlflow  # noqa: PLC0415

        return _alias(mlflow.MlflowClient(), self._alias) is not None

    def load(self) -> RegisteredModel | None:
        """The version holding the alias, its served model loaded; ``None`` if none does."""
        import mlflow  # noqa: PLC0415

        client = mlflow.MlflowClient()
        version = _alias(client, self._alias)
        if version is None:
            if self._required:
                raise RegistryError(
                    f"There is no {REGISTERED_MODEL_NAME}@{self._alias} model in the MLflow "
                    f"registry ({mlflow.get_tracking_uri()}) yet: run `kedro run` first to "
                    "train one."
                )
            return None
        model = load_served_model(registered_model_uri(number_of(version)))
        return registered_model(client, version, model)

    def save(self, data: Any) -> None:
        """Versions are registered by training (``served_model``), never saved here."""
        raise DatasetError(f"{REGISTERED_MODEL_NAME}@{self._alias} is read-only")


def _make_champion(client, version: str, replaced: Any | None) -> None:
    """Move the alias to ``version``, noting which version it replaced (for a rollback)."""
    if replaced is not None and number_of(replaced) != str(version):
        client.set_model_version_tag(
            REGISTERED_MODEL_NAME, version, "replaced_champion", number_of(replaced)
        )
    client.set_registered_model_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS, version)


def _settle_champion(client, rounds: int = 5) -> None:
    """Leave the alias on the best version that passed the gate, whoever wrote it last.

    Runs that finish at once (a team's tracking server) each decide against the champion
    they saw, and a slower one may move the alias after a better one did. Every promoting
    run therefore looks again once its own write is done, and moves the alias to the
    promoted version of highest re-scored validation accuracy (the newest on a tie, as
    the gate would have chosen in turn) until the alias stays put.
    """
    for _ in range(rounds):
        promoted = [
            (float(v.tags["val_accuracy"]), int(v.version))
            for v in client.search_model_versions(f"name = '{REGISTERED_MODEL_NAME}'")
            if v.tags.get("promoted") == "true" and "val_accuracy" in v.tags
        ]
        if not promoted:
            return
        best = str(max(promoted)[1])
        current = _alias(client, CHAMPION_ALIAS)
        if current is not None and number_of(current) == best:
            return
        _make_champion(client, best, current)


def apply_update(client, update: dict[str, Any]) -> dict[str, Any]:
    """Tell the registry what the gate decided about the version of ``update`` (its
    ``outcome``, ``tags``, ``promote`` and training ``run``); the outcome as it ends: with
    ``champion`` (does the version hold the alias now?) and the reason, amended when a
    better version registered at the same time took the alias."""
    outcome = dict(update["outcome"])
    version = str(outcome["version"])
    client.set_registered_model_alias(REGISTERED_MODEL_NAME, CHALLENGER_ALIAS, version)
    for key, value in update["tags"].items():
        client.set_model_version_tag(REGISTERED_MODEL_NAME, version, key, value)
    is_champion = False
    if update["promote"]:
        _make_champion(client, version, _alias(client, CHAMPION_ALIAS))
        _settle_champion(client)
        now = _alias(client, CHAMPION_ALIAS)
        is_champion = now is not None and number_of(now) == version
        if not is_champion:  # a better version registered at the same time took the alias
            outcome["promotion"] = (
                f"{outcome['promotion']}; then version {number_of(now)} (val_accuracy "
                f"{float(now.tags['val_accuracy']):.4f}), registered at the same time, took "
                "the alias"
            )
            client.set_model_version_tag(
                REGISTERED_MODEL_NAME, version, "promotion", outcome["promotion"]
            )
    outcome["champion"] = is_champion
    client.update_model_version(
        REGISTERED_MODEL_NAME, version, description=model_card(update["run"], outcome)
    )
    return outcome


class RegistryUpdateDataset(AbstractDataset[dict, dict]):
    """Saving what the gate decided about a version applies it (:func:`apply_update`);
    loading gives the outcome as the registry then held it.

    Example catalog entry::

        registry_update:
          type: mnist_pipeline.tracking.registry.RegistryUpdateDataset
    """

    def __init__(self, metadata: dict | None = None) -> None:
        """Nothing applied yet."""
        self.metadata = metadata
        self._applied: dict[str, Any] | None = None

    def _describe(self) -> dict[str, Any]:
        return {"registry": REGISTERED_MODEL_NAME}

    def _exists(self) -> bool:
        return self._applied is not None

    def save(self, data: dict[str, Any]) -> None:
        """Apply the gate's decision to the registry."""
        import mlflow  # noqa: PLC0415

        self._applied = apply_update(mlflow.MlflowClient(), data)

    def load(self) -> dict[str, Any]:
        """The outcome of the last update this session applied."""
        if self._applied is None:
            raise DatasetError("no registry update has been applied in this session")
        return dict(self._applied)


class MlflowEvaluationDataset(AbstractDataset[Any, None]):
    """Saving a table of predicted ``digit`` and true ``label`` logs MLflow's own classifier
    evaluation of it on the active run (metrics ``<prefix>accuracy_score`` ..., its
    confusion matrix), as ``mlflow.models.evaluate`` does.

    Example catalog entry::

        gate_evaluation:
          type: mnist_pipeline.tracking.registry.MlflowEvaluationDataset
          metric_prefix: gate_validation_
    """

    def __init__(self, metric_prefix: str, metadata: dict | None = None) -> None:
        """Name the metrics' prefix."""
        self._prefix = metric_prefix
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"metric_prefix": self._prefix}

    def _exists(self) -> bool:
        return False

    def save(self, data: Any) -> None:
        """Evaluate ``data`` and log it; nothing without an active run (tracking off)."""
        import mlflow  # noqa: PLC0415

        if mlflow.active_run() is None:
            return
        mlflow.models.evaluate(
            data=data,
            predictions="digit",
            targets="label",
            model_type="classifier",
            evaluator_config={"metric_prefix": self._prefix, "log_model_explainability": False},
        )

    def load(self) -> None:
        """The evaluation lives in MLflow: see the run's metrics and artifacts."""
        raise DatasetError("MLflow's evaluation is logged to the run, not loaded back")


def who() -> str:
    """Who acts: the tracking server's user, else this machine's."""
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()


def promote_by_hand(client, version: str, reason: str) -> str:
    """Make ``version`` the champion, whatever the gate said; tag who and why."""
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        client.get_model_version(REGISTERED_MODEL_NAME, version)
    except MlflowException:
        raise RegistryError(
            f"There is no version {version} of {REGISTERED_MODEL_NAME} in the registry "
            f"({client.tracking_uri}): see the versions in the MLflow UI, Models."
        ) from None
    _make_champion(client, version, _alias(client, CHAMPION_ALIAS))
    client.set_model_version_tag(
        REGISTERED_MODEL_NAME, version, "promoted_by_hand", f"{who()}: {reason}"
    )
    return f"version {version} of {REGISTERED_MODEL_NAME} is the champion ({who()}: {reason})"


def roll_back(client, reason: str) -> str:
    """Give the alias back to the version the current champion replaced; tag who and why."""
    current = _alias(client, CHAMPION_ALIAS)
    if current is None or "replaced_champion" not in current.tags:
        raise RegistryError(
            f"{REGISTERED_MODEL_NAME} has no champion that replaced another: nothing to roll "
            "back to (promote a version by hand instead)."
        )
    previous = current.tags["replaced_champion"]
    client.set_registered_model_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS, previous)
    note = f"{who()}: {reason}"
    client.set_model_version_tag(REGISTERED_MODEL_NAME, number_of(current), "rolled_back", note)
    client.set_model_version_tag(REGISTERED_MODEL_NAME, previous, "restored_champion", note)
    return (
        f"version {previous} of {REGISTERED_MODEL_NAME} is the champion again, replacing "
        f"{number_of(current)} ({note})"
    )
