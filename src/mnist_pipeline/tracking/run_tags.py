"""The one way a run's MLflow run gets tags (:func:`tag_active_run`), and parameters that
a node decides (:class:`MlflowRunParamsDataset`).

Tags known before a run starts (where it runs, which model it uses) are collected by a
:class:`PendingRunTags` hook and set before its first node: kedro-mlflow opens the MLflow
run in its own ``before_pipeline_run``, which may come after a project hook's, and the
first ``before_node_run`` is the first moment it is open for sure. Tags a node finds out
while it runs (the run training resumed from) are its output, saved through
:class:`MlflowRunTagsDataset`. Every run is tagged with its machine (``host``, so that on
a team's server only this machine's dead runs are closed: :mod:`.run_guard`) and, under
Airflow, with the DAG run and task it belongs to: ``tags."airflow.dag_run_id" = '<id>'``
then finds every run of one DAG run, and ``airflow.try_number`` tells a retry apart.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset, DatasetError

#: The run tag naming the machine a run ran on.
HOST_TAG = "host"
#: Airflow's environment variable (``AIRFLOW_CTX_*``) -> the MLflow tag it becomes.
AIRFLOW_CONTEXT_TAGS = {
    "AIRFLOW_CTX_DAG_ID": "airflow.dag_id",
    "AIRFLOW_CTX_DAG_RUN_ID": "airflow.dag_run_id",
    "AIRFLOW_CTX_TASK_ID": "airflow.task_id",
    "AIRFLOW_CTX_TRY_NUMBER": "airflow.try_number",
}


def tag_active_run(tags: Mapping[str, Any]) -> None:
    """Set ``tags`` on the active MLflow run; nothing when none is open (tracking off)."""
    import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

    if tags and mlflow.active_run() is not None:
        mlflow.set_tags({str(key): str(value) for key, value in tags.items()})


def airflow_tags(environ: Mapping[str, str]) -> dict[str, str]:
    """The tags of the Airflow task described by ``environ``; empty outside Airflow."""
    if not environ.get("AIRFLOW_CTX_DAG_RUN_ID"):
        return {}
    return {tag: environ[name] for name, tag in AIRFLOW_CONTEXT_TAGS.items() if name in environ}


class PendingRunTags:
    """A hook whose ``before_pipeline_run`` fills ``pending_tags``; they are set on the
    run's MLflow run before its first node, once."""

    def __init__(self) -> None:
        """Start with no pending tags."""
        self.pending_tags: dict[str, str] = {}

    @hook_impl
    def before_node_run(self) -> None:
        """Tag the active MLflow run (open by now) with the pending tags."""
        tag_active_run(self.pending_tags)
        self.pending_tags = {}


class RunContextTagsHook(PendingRunTags):
    """Tag every run with the machine it runs on and, under Airflow, its DAG run and task."""

    @hook_impl
    def before_pipeline_run(self) -> None:
        """Read where this run runs; the tags are set before the first node."""
        self.pending_tags = {HOST_TAG: socket.gethostname(), **airflow_tags(os.environ)}


class MlflowRunTagsDataset(AbstractDataset[dict, dict]):
    """Saves a ``{name: value}`` mapping (a node's output) as tags of the active MLflow run."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        """Create the dataset; ``metadata`` is free-form (e.g. for kedro-viz)."""
        self.metadata = metadata
        self._last: dict[str, str] = {}

    def _describe(self) -> dict[str, Any]:
        return {"sink": "active MLflow run"}

    def _exists(self) -> bool:
        return bool(self._last)

    def load(self) -> dict:
        """The tags last saved in this session."""
        return dict(self._last)

    def save(self, data: dict) -> None:
        """Tag the active run; without one (tracking disabled) only remember the tags."""
        if not isinstance(data, dict):
            raise DatasetError(
                f"MlflowRunTagsDataset saves a dict of tags, got {type(data).__name__}"
            )
        self._last = {str(key): str(value) for key, value in data.items()}
        tag_active_run(self._last)


def flattened(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"steps": 5, "lenet5": {"steps": 6}}}`` as ``{"train.steps": 5,
    "train.lenet5.steps": 6}``: the names kedro-mlflow gives the parameters it logs."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update(flattened(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class MlflowRunParamsDataset(MlflowRunTagsDataset):
    """Saves a mapping (a node's output) as parameters of the active MLflow run, named as
    kedro-mlflow names the ``params:`` it logs (``train.steps``); for settings a node
    decides, such as the best trial's that ``train_best`` trains."""

    def save(self, data: dict) -> None:
        """Log the parameters; without an active run only remember them."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        if not isinstance(data, dict):
            raise DatasetError(f"{type(self).__name__} saves a dict, not {type(data).__name__}")
        self._last = {key: str(value) for key, value in flattened(data).items()}
        if mlflow.active_run() is not None:
            mlflow.log_params(self._last)
