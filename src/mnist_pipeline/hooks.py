"""Project hooks: check parameters before any work; tie a run to the model it uses.

``ParameterCheckHook`` runs before the pipeline (and before kedro-mlflow opens a run): a
setting that cannot work stops the run with one message, no data read, no run recorded.

``InterruptedRunsHook``: while ``kedro run`` holds the project's run lock
(:mod:`mnist_pipeline.run_lock`), any MLflow run of this project still marked RUNNING
belongs to a process that died (``kill -9``, a crash); it is marked KILLED, so the store
never keeps phantom running runs.

``kedro run --pipeline=evaluate`` uses the latest trained ``mnist_model``; the registry
hook (:mod:`mnist_pipeline.registry`) recorded which training run and registry version it
is, and ``ModelLineageHook`` tags the evaluation's run with them (``training_run_id``,
``registered_model_version``, ``model_uri``); a ``predict`` run is tagged the same way
with the champion version it used.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from mnist_pipeline.errors import UserFacingError
from mnist_pipeline.mlflow_model import (
    CHAMPION_ALIAS,
    REGISTERED_MODEL_NAME,
    registered_model_uri,
)
from mnist_pipeline.parameters import check_parameters
from mnist_pipeline.registry import MODEL_DATASET, REGISTRATION_DATASET
from mnist_pipeline.run_lock import held_for

logger = logging.getLogger(__name__)

#: The registry's champion, as the ``predict`` pipeline loads it.
CHAMPION_DATASET = "champion_model"


class ModelNotTrainedError(UserFacingError, RuntimeError):
    """A pipeline needs a trained model and there is none yet."""


class ParameterCheckHook:
    """Stop a run whose parameters cannot work, before any data is read."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        """Check the parameter namespaces the pipeline uses (``params:<namespace>...``)."""
        namespaces = {
            name.removeprefix("params:").split(".")[0]
            for name in pipeline.inputs()
            if name.startswith("params:")
        }
        if not namespaces:
            return
        parameters = catalog.get("parameters").load()  # the merged parameters, not data
        check_parameters(parameters, namespaces, _training_file_examples(catalog))


class InterruptedRunsHook:
    """Mark MLflow runs of this project that died while RUNNING as KILLED."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self) -> None:
        """Before kedro-mlflow opens this run's MLflow run (hence ``tryfirst``), and only
        under the run lock, can a RUNNING run be known to be dead."""
        project = held_for()
        if project is not None:
            _mark_dead_runs_killed(str(project))


def _mark_dead_runs_killed(project_path: str) -> None:
    """Runs of this project left RUNNING by a process that died are KILLED, not running."""
    import mlflow  # noqa: PLC0415

    try:
        runs = mlflow.search_runs(
            search_all_experiments=True,
            filter_string=f"attributes.status = 'RUNNING' and tags.project_path = '{project_path}'",
            output_format="list",
        )
    except Exception as exc:  # noqa: BLE001 (a store we cannot read is reported by the run)
        logger.debug("Could not look for interrupted MLflow runs: %s", exc)
        return
    client = mlflow.MlflowClient()
    active = mlflow.active_run()
    for run in runs:
        if active is not None and run.info.run_id == active.info.run_id:
            continue
        client.set_terminated(run.info.run_id, status="KILLED")
        logger.warning(
            "MLflow run %s ('%s') was left RUNNING by an interrupted process: marked KILLED.",
            run.info.run_id, run.info.run_name,
        )


def _training_file_examples(catalog) -> int | None:
    """How many examples the raw training labels file declares, from its header alone."""
    if "raw_train_labels" not in catalog:
        return None
    dataset = catalog.get("raw_train_labels")
    shape = dataset.peek_shape() if hasattr(dataset, "peek_shape") else None
    return shape[0] if shape else None


class ModelLineageHook:
    """Check a trained model exists before it is used, and tag the run with its lineage."""

    def __init__(self) -> None:
        """Start with no pending tags."""
        self._pending_tags: dict[str, str] = {}

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline, catalog) -> None:
        """Before any run starts (and before an MLflow run is opened), find the model."""
        self._pending_tags = {}
        if CHAMPION_DATASET in pipeline.inputs():
            self._pending_tags = _champion_lineage()
        if MODEL_DATASET not in pipeline.inputs():
            return
        if not catalog.exists(MODEL_DATASET):
            raise ModelNotTrainedError(
                f"There is no trained model yet ({MODEL_DATASET} is not in data/06_models/): "
                "run `kedro run` first to train one."
            )
        if not catalog.exists(REGISTRATION_DATASET):
            logger.warning("The model in data/06_models/ was never registered in MLflow: "
                           "its training run is not known.")
            return
        registration = catalog.load(REGISTRATION_DATASET)
        self._pending_tags = _lineage_tags(
            registration["training_run_id"], registration["version"]
        )
        logger.info("Using the model of training run %s (%s)",
                    registration["training_run_id"], registration["model_uri"])

    @hook_impl
    def before_node_run(self) -> None:
        """Tag the active MLflow run (open by now) with the model's lineage."""
        if not self._pending_tags:
            return
        import mlflow  # noqa: PLC0415

        if mlflow.active_run() is not None:
            mlflow.set_tags(self._pending_tags)
        self._pending_tags = {}


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
    logger.info("Using %s@%s: version %s, trained in run %s", REGISTERED_MODEL_NAME,
                CHAMPION_ALIAS, version.version, version.run_id)
    return _lineage_tags(version.run_id, version.version)


def _lineage_tags(training_run_id: str, version: int | str) -> dict[str, str]:
    """The tags that tie a run to the registered model version it used."""
    return {
        "training_run_id": training_run_id,
        "registered_model_version": str(version),
        "model_uri": registered_model_uri(version),
    }
