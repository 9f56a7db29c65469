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

from .pending_tags import PendingRunTags

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


class AirflowRunTagsHook(PendingRunTags):
    """Tag the run's MLflow run with the Airflow DAG run and task it belongs to."""

    @hook_impl
    def before_pipeline_run(self) -> None:
        """Read the task's identity; the tags are set before the first node."""
        self._pending_tags = airflow_tags(os.environ)
