"""Tie the MLflow runs of one Airflow DAG run together.

Under Airflow (``conf/airflow``, ``airflow_dags/``) each task runs one stage as its own
Kedro session, hence its own MLflow run. Airflow puts the task's identity in its
environment (``AIRFLOW_CTX_*``); this hook copies it onto the task's MLflow run as tags,
so that ``tags."airflow.dag_run_id" = '<run id>'`` finds every run of one DAG run, and a
retried task's runs are told apart by ``airflow.try_number``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kedro.framework.hooks import hook_impl

#: Airflow's environment variable -> the MLflow tag it becomes.
AIRFLOW_CONTEXT_TAGS = {
    "AIRFLOW_CTX_DAG_ID": "airflow.dag_id",
    "AIRFLOW_CTX_DAG_RUN_ID": "airflow.dag_run_id",
    "AIRFLOW_CTX_TASK_ID": "airflow.task_id",
    "AIRFLOW_CTX_TRY_NUMBER": "airflow.try_number",
}


def airflow_tags(environ: Mapping[str, str]) -> dict[str, str]:
    """The tags of the Airflow task described by ``environ``; empty outside Airflow."""
    if not environ.get("AIRFLOW_CTX_DAG_RUN_ID"):
        return {}
    return {tag: environ[name] for name, tag in AIRFLOW_CONTEXT_TAGS.items() if name in environ}


class AirflowRunTagsHook:
    """Tag the run's MLflow run with the Airflow DAG run and task it belongs to."""

    def __init__(self) -> None:
        """Start with no pending tags."""
        self._pending: dict[str, str] = {}

    @hook_impl
    def before_pipeline_run(self) -> None:
        """Read the task's identity (before any node; the MLflow run may not be open yet)."""
        self._pending = airflow_tags(os.environ)

    @hook_impl
    def before_node_run(self) -> None:
        """Tag the MLflow run, open by now, once."""
        if not self._pending:
            return
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        if mlflow.active_run() is not None:
            mlflow.set_tags(self._pending)
        self._pending = {}
