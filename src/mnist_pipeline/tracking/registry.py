"""The model registry: every trained model a version of ``mnist_classifier``, the best the champion.

kedro-mlflow registers the model it logs at the end of a training run (see
:mod:`.model`). Then :func:`promote_if_better` (called by :class:`ModelRegistryHook`
once kedro-mlflow has registered it) decides whether the new
version becomes the ``champion`` (the alias that serving and ``kedro run
--pipeline=predict`` use): only when its final validation accuracy is at least the
current champion's, the first version always. The version's tags say why, and
``data/06_models/model_registration.json`` records the outcome for ``evaluate``.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from .model import CHAMPION_ALIAS, REGISTERED_MODEL_NAME, registered_model_uri

logger = logging.getLogger(__name__)

#: The trained model's dataset; saving it marks the MLflow run that trained a model.
MODEL_DATASET = "mnist_model"
#: Where the outcome of a registration is recorded (a catalog entry).
REGISTRATION_DATASET = "model_registration"
#: The metric that decides promotion: the last validation accuracy of the training run.
DECIDING_METRIC = "val_accuracy"


@dataclasses.dataclass(frozen=True)
class Promotion:
    """Whether a new version becomes the champion, and why, in words for its tags."""

    promote: bool
    reason: str


def decide_promotion(
    version: str, accuracy: float, champion: tuple[str, float] | None
) -> Promotion:
    """Promote ``version`` when no champion exists or its accuracy is at least the champion's.

    ``champion`` is ``(version, validation accuracy)`` of the current champion, if any.
    """
    if champion is None:
        return Promotion(
            True,
            f"promoted: version {version} is the first champion ({DECIDING_METRIC} {accuracy:.4f})",
        )
    champion_version, champion_accuracy = champion
    if accuracy >= champion_accuracy:
        return Promotion(
            True,
            f"promoted: {DECIDING_METRIC} {accuracy:.4f} >= "
            f"{champion_accuracy:.4f} of champion version {champion_version}",
        )
    return Promotion(
        False,
        f"not promoted: {DECIDING_METRIC} {accuracy:.4f} < "
        f"{champion_accuracy:.4f} of champion version {champion_version}",
    )


def _current_champion(client) -> tuple[str, float] | None:
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        champion = client.get_model_version_by_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS)
    except MlflowException:  # no such alias (or model) yet
        return None
    if DECIDING_METRIC in champion.tags:
        return champion.version, float(champion.tags[DECIDING_METRIC])
    metrics = client.get_run(champion.run_id).data.metrics
    return champion.version, float(metrics[DECIDING_METRIC])


def _settle_champion(client, rounds: int = 5) -> None:
    """Leave the alias on the best promoted version, whoever wrote it last.

    Runs that finish at once (a team's tracking server) each decide against the champion
    they saw, and a slower one may move the alias after a better one did. Every promoting
    run therefore looks again once its own write is done, and moves the alias to the best
    version that was promoted (highest validation accuracy, the newest on a tie, as the
    rule above would have chosen in turn) until the alias stays put.
    """
    for _ in range(rounds):
        promoted = [
            (float(v.tags[DECIDING_METRIC]), int(v.version))
            for v in client.search_model_versions(f"name = '{REGISTERED_MODEL_NAME}'")
            if v.tags.get("promoted") == "true" and DECIDING_METRIC in v.tags
        ]
        if not promoted:
            return
        best = str(max(promoted)[1])
        current = client.get_model_version_by_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS)
        if current.version == best:
            return
        client.set_registered_model_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS, best)


def promote_if_better(client, run_id: str) -> dict[str, Any]:
    """Tag the version registered from ``run_id`` and move the champion alias if it earns it.

    Returns:
        What was decided: registered model, version, training run, validation accuracy,
        whether it is now the champion and why.
    """
    versions = client.search_model_versions(
        f"name = '{REGISTERED_MODEL_NAME}' and run_id = '{run_id}'"
    )
    if not versions:
        raise LookupError(f"run {run_id} registered no version of {REGISTERED_MODEL_NAME}")
    version = max(versions, key=lambda v: int(v.version)).version
    run = client.get_run(run_id)
    accuracy = float(run.data.metrics[DECIDING_METRIC])
    # What was trained, for the version's tags (runs from before these settings: the MLP,
    # in float32).
    architecture = run.data.params.get("train.model", "mlp")
    precision = run.data.params.get("train.precision", "float32")
    decision = decide_promotion(version, accuracy, _current_champion(client))
    # A version trained from a search's best trial says which (tuning.study, tuning.trial).
    origin = {key: value for key, value in run.data.tags.items() if key.startswith("tuning.")}
    for key, value in {
        **origin,
        "architecture": architecture,
        "precision": precision,
        DECIDING_METRIC: f"{accuracy:.6f}",
        "promoted": str(decision.promote).lower(),
        "promotion": decision.reason,
    }.items():
        client.set_model_version_tag(REGISTERED_MODEL_NAME, version, key, value)
    if decision.promote:
        client.set_registered_model_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS, version)
        _settle_champion(client)
    reason, is_champion = decision.reason, False
    if decision.promote:
        champion = client.get_model_version_by_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS)
        is_champion = champion.version == version
        if not is_champion:  # a better version registered at the same time took the alias
            reason = (
                f"{reason}; then version {champion.version} ({DECIDING_METRIC} "
                f"{float(champion.tags[DECIDING_METRIC]):.4f}), registered at the same time, "
                "took the alias"
            )
            client.set_model_version_tag(REGISTERED_MODEL_NAME, version, "promotion", reason)
    return {
        "registered_model": REGISTERED_MODEL_NAME,
        "version": int(version),
        "model_uri": registered_model_uri(version),
        "training_run_id": run_id,
        "architecture": architecture,
        "precision": precision,
        DECIDING_METRIC: accuracy,
        "champion": is_champion,
        "promotion": reason,
    }


class ModelRegistryHook:
    """After a training run's model is registered, decide on the champion alias."""

    def __init__(self) -> None:
        """Start with no training run seen."""
        self._training_run_id: str | None = None

    @hook_impl
    def before_pipeline_run(self) -> None:
        """Forget the previous run's training run (one hook serves a whole session)."""
        self._training_run_id = None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        """Note the MLflow run that saved a trained model: its model will be registered."""
        if dataset_name == MODEL_DATASET:
            import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

            run = mlflow.active_run()
            self._training_run_id = run.info.run_id if run else None

    @hook_impl(trylast=True)
    def after_pipeline_run(self, pipeline, catalog) -> None:
        """After kedro-mlflow's own hook has logged and registered the model (``trylast``)."""
        from kedro_mlflow.pipeline.pipeline_ml import PipelineML  # noqa: PLC0415

        if self._training_run_id is None or not isinstance(pipeline, PipelineML):
            return
        import mlflow  # noqa: PLC0415

        outcome = promote_if_better(mlflow.MlflowClient(), self._training_run_id)
        catalog.save(REGISTRATION_DATASET, outcome)
        logger.info(
            "Registered %s version %d (%s): %s",
            outcome["registered_model"],
            outcome["version"],
            outcome["model_uri"],
            outcome["promotion"],
        )
