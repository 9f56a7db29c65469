"""Tie a run to the model it uses.

``kedro run --pipeline=evaluate`` uses the latest trained ``mnist_model``; the registry
hook (:mod:`.registry`) recorded which training run and registry version it is, and
``ModelLineageHook`` tags the evaluation's run with them (``training_run_id``,
``registered_model_version``, ``model_uri``); a ``predict`` run is tagged the same way
with the champion version it used.
"""

from __future__ import annotations

import logging

from kedro.framework.hooks import hook_impl

from mnist_pipeline.errors import UserFacingError

from .model import CHAMPION_ALIAS, REGISTERED_MODEL_NAME, registered_model_uri
from .registry import MODEL_DATASET, REGISTRATION_DATASET
from .run_tags import PendingRunTags

logger = logging.getLogger(__name__)

#: The registry's champion, as the ``predict`` pipeline loads it.
CHAMPION_DATASET = "champion_model"


class ModelNotTrainedError(UserFacingError, RuntimeError):
    """A pipeline needs a trained model and there is none yet."""


class ModelLineageHook(PendingRunTags):
    """Check a trained model exists before it is used, and tag the run with its lineage
    (the tags are set before the first node: :class:`.run_tags.PendingRunTags`)."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline, catalog) -> None:
        """Before any run starts (and before an MLflow run is opened), find the model."""
        self.pending_tags = {}
        if CHAMPION_DATASET in pipeline.inputs():
            self.pending_tags = _champion_lineage()
        if MODEL_DATASET not in pipeline.inputs():
            return
        if not catalog.exists(MODEL_DATASET):
            raise ModelNotTrainedError(
                f"There is no trained model yet ({MODEL_DATASET} is not in data/06_models/): "
                "run `kedro run` first to train one."
            )
        if not catalog.exists(REGISTRATION_DATASET):
            logger.warning(
                "The model in data/06_models/ was never registered in MLflow: "
                "its training run is not known."
            )
            return
        registration = catalog.load(REGISTRATION_DATASET)
        self.pending_tags = _lineage_tags(registration["training_run_id"], registration["version"])
        logger.info(
            "Using the model of training run %s (%s)",
            registration["training_run_id"],
            registration["model_uri"],
        )


def _champion_lineage() -> dict[str, str]:
    """Which registry version the champion alias points at now, for the run's tags."""
    import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        version = mlflow.MlflowClient().get_model_version_by_alias(
            REGISTERED_MODEL_NAME, CHAMPION_ALIAS
        )
    except MlflowException:
        raise ModelNotTrainedError(
            f"There is no {REGISTERED_MODEL_NAME}@{CHAMPION_ALIAS} model in the MLflow "
            f"registry ({mlflow.get_tracking_uri()}) yet: run `kedro run` first to train one."
        ) from None
    logger.info(
        "Using %s@%s: version %s, trained in run %s",
        REGISTERED_MODEL_NAME,
        CHAMPION_ALIAS,
        version.version,
        version.run_id,
    )
    return _lineage_tags(version.run_id, version.version)


def _lineage_tags(training_run_id: str, version: int | str) -> dict[str, str]:
    """The tags that tie a run to the registered model version it used."""
    return {
        "training_run_id": training_run_id,
        "registered_model_version": str(version),
        "model_uri": registered_model_uri(version),
    }
