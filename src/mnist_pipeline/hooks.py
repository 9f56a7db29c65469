"""Project hooks: check parameters before any work; tie an evaluation to its model.

``ParameterCheckHook`` runs before the pipeline (and before kedro-mlflow opens a run): a
setting that cannot work stops the run with one message, no data read, no run recorded.

``InterruptedRunsHook``: while ``kedro run`` holds the project's run lock
(:mod:`mnist_pipeline.run_lock`), any MLflow run of this project still marked RUNNING
belongs to a process that died (``kill -9``, a crash); it is marked KILLED, so the store
never keeps phantom running runs.

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
from mnist_pipeline.parameters import check_parameters
from mnist_pipeline.run_lock import held_for

logger = logging.getLogger(__name__)

MODEL_DATASET = "mnist_model"


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
