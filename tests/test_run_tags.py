"""The tags every run gets: its machine and, under Airflow, its DAG run and task."""

from __future__ import annotations

import json
import socket

from mnist_pipeline.tracking.run_tags import airflow_tags, run_context, with_run_context

TASK = {
    "AIRFLOW_CTX_DAG_ID": "mnist-pipeline",
    "AIRFLOW_CTX_DAG_RUN_ID": "manual__2026-11-29T12:08:04+00:00",
    "AIRFLOW_CTX_TASK_ID": "train",
    "AIRFLOW_CTX_TRY_NUMBER": "2",
    "HOME": "/root",
}


def test_a_task_is_tagged_with_its_dag_run_task_and_try():
    assert airflow_tags(TASK) == {
        "airflow.dag_id": "mnist-pipeline",
        "airflow.dag_run_id": "manual__2026-11-29T12:08:04+00:00",
        "airflow.task_id": "train",
        "airflow.try_number": "2",
    }
    assert run_context(TASK) == {"host": socket.gethostname(), **airflow_tags(TASK)}


def test_outside_airflow_a_run_is_tagged_with_its_machine_only():
    assert airflow_tags({"HOME": "/root"}) == {}
    assert run_context({"HOME": "/root"}) == {"host": socket.gethostname()}


def test_mlflows_run_context_keeps_the_tags_it_was_given_and_takes_the_latest_tasks():
    given = {"MLFLOW_RUN_CONTEXT": json.dumps({"team": "digits", "airflow.task_id": "ingest"})}
    context = json.loads(with_run_context({**TASK, **given}))
    assert context == {"team": "digits", "host": socket.gethostname(), **airflow_tags(TASK)}
    assert json.loads(with_run_context({})) == {"host": socket.gethostname()}
