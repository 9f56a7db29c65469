"""The one way a node's result becomes tags or parameters of its MLflow run
(:class:`MlflowRunTagsDataset`, :class:`MlflowRunParamsDataset`), and the tags every run
gets from where it runs (:func:`run_context`).

Tags a node finds out while it runs (the run training resumed from, the version a run
used) are its output, saved through :class:`MlflowRunTagsDataset`. Every run is tagged with
its machine (``host``, so that on a team's server only this machine's dead runs are
closed: :mod:`.run_guard`) and, under Airflow, with the DAG run and task it belongs to:
``tags."airflow.dag_run_id" = '<id>'`` then finds every run of one DAG run, and
``airflow.try_number`` tells a retry apart. Those reach MLflow as MLflow's own
``MLFLOW_RUN_CONTEXT`` tags, which it sets on every run it starts.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from typing import Any

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


def run_context(environ: Mapping[str, str]) -> dict[str, str]:
    """The tags of a run started here: this machine's name, and the Airflow task's
    (:func:`airflow_tags`) under Airflow."""
    return {HOST_TAG: socket.gethostname(), **airflow_tags(environ)}


def with_run_context(environ: Mapping[str, str]) -> str:
    """``MLFLOW_RUN_CONTEXT`` (the JSON of tags MLflow sets on every run it starts) with
    :func:`run_context`'s tags added to any it already holds."""
    given = json.loads(environ.get("MLFLOW_RUN_CONTEXT") or "{}")
    return json.dumps({**given, **run_context(environ)})


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
