"""Project hooks: tie an evaluation to the model it evaluates.

``kedro run --pipeline=evaluate`` loads the latest version of ``mnist_model``. Kedro names
a version after the session that saved it, and kedro-mlflow tags each MLflow run with its
session id (tag ``run_id``), so the model's version leads to the training run that made
it. That link is recorded on the evaluation's run as tag ``training_run_id``.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io.core import VersionNotFoundError

from mnist_pipeline.errors import UserFacingError

logger = logging.getLogger(__name__)

MODEL_DATASET = "mnist_model"


class ModelNotTrainedError(UserFacingError, RuntimeError):
    """A pipeline needs a trained model and there is none yet."""


class ModelLineageHook:
    """Check a trained model exists before evaluating it, and tag the evaluation run."""

    def __init__(self) -> None:
        """Start with no pending tags."""
        self._pending_tags: dict[str, str] = {}

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        """Before any run starts (and before an MLflow run is opened), find the model."""
        self._pending_tags = {}
        if MODEL_DATASET not in pipeline.inputs():
            if MODEL_DATASET in pipeline.all_outputs():
                self._pending_tags = {"model_version": str(run_params.get("session_id"))}
            return
        dataset = catalog.get(MODEL_DATASET)
        try:
            model_path = PurePosixPath(dataset._get_load_path())
        except VersionNotFoundError:
            raise ModelNotTrainedError(
                f"There is no trained model yet ({MODEL_DATASET} has no version under "
                "data/06_models/): run `kedro run` first to train one."
            ) from None
        version = model_path.parent.name
        self._pending_tags = {"model_version": version}
        training_run = _find_run_of_session(version)
        if training_run is not None:
            self._pending_tags["training_run_id"] = training_run
        logger.info("Evaluating model version %s (MLflow training run %s)", version,
                    training_run or "not found")

    @hook_impl
    def before_node_run(self) -> None:
        """Tag the active MLflow run (open by now) with the model's lineage."""
        if not self._pending_tags:
            return
        import mlflow  # noqa: PLC0415

        if mlflow.active_run() is not None:
            tags = dict(self._pending_tags)
            tags.setdefault("training_run_id", mlflow.active_run().info.run_id)
            mlflow.set_tags(tags)
        self._pending_tags = {}


def _find_run_of_session(session_id: str) -> str | None:
    """The id of the MLflow run that kedro-mlflow opened for Kedro session ``session_id``."""
    import mlflow  # noqa: PLC0415

    runs = mlflow.search_runs(
        search_all_experiments=True,
        filter_string=f"tags.run_id = '{session_id}'",
        output_format="list",
        max_results=1,
    )
    return runs[0].info.run_id if runs else None
