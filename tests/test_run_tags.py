"""The tags every run gets: its machine and, under Airflow, its DAG run and task."""

from __future__ import annotations

import socket

from mnist_pipeline.tracking.run_tags import RunContextTagsHook, airflow_tags

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


def test_outside_airflow_there_are_no_tags(monkeypatch):
    assert airflow_tags({"HOME": "/root"}) == {}
    for name in TASK:
        monkeypatch.delenv(name, raising=False)
    hook = RunContextTagsHook()
    hook.before_pipeline_run()
    assert hook.pending_tags == {"host": socket.gethostname()}


def test_the_hook_reads_them_before_the_run(monkeypatch):
    for name, value in TASK.items():
        monkeypatch.setenv(name, value)
    hook = RunContextTagsHook()
    hook.before_pipeline_run()
    assert hook.pending_tags["airflow.task_id"] == "train"
