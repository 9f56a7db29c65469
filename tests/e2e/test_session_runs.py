"""A run started through ``KedroSession.run`` (a notebook, a scheduler) is guarded like
``kedro run``: it takes the project's run lock and closes MLflow runs of dead processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import pytest

from mnist_pipeline.tracking.run_guard import acquire_run_lock

from ..conftest import model_input
from ..project import copy_project, mlflow_store, write_model_input

pytestmark = pytest.mark.slow

SESSION_RUN = textwrap.dedent(
    """
    from pathlib import Path
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(Path.cwd())
    params = {"train": {"steps": 100, "eval_every": 50, "batch_size": 50}}
    with KedroSession.create(project_path=Path.cwd(), runtime_params=params) as session:
        session.run(pipeline_names=["train"])
    """
)


def _session_run(project) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SESSION_RUN],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"KEDRO_DISABLE_TELEMETRY": "1", "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )


def test_session_run_holds_the_run_lock_and_marks_dead_runs_killed(tmp_path):
    project = copy_project(tmp_path / "project").resolve()
    write_model_input(project, model_input(500, 100, 100))
    import mlflow

    store = f"sqlite:///{project / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    experiment = client.create_experiment("left-over")
    tags = {"project_path": project.as_posix(), "host": socket.gethostname()}
    dead = client.create_run(experiment, tags=tags)
    # The same path on another machine (a team's tracking server): not this run's to judge.
    elsewhere = client.create_run(experiment, tags={**tags, "host": "another-machine"})

    lock = acquire_run_lock(project)  # as another run of the project would
    try:
        refused = _session_run(project)
    finally:
        lock.release()
    assert refused.returncode != 0
    assert "Another `kedro run` is in progress" in refused.stderr
    assert client.get_run(dead.info.run_id).info.status == "RUNNING"  # not its to judge

    finished = _session_run(project)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert f"MLflow run {dead.info.run_id}" in finished.stdout + finished.stderr
    _, runs = mlflow_store(project)
    assert {run.info.run_id: run.info.status for run in runs} == {
        runs[0].info.run_id: "FINISHED",
        dead.info.run_id: "KILLED",
        elsewhere.info.run_id: "RUNNING",
    }
    assert runs[0].data.tags["host"] == socket.gethostname()
    acquire_run_lock(project).release()  # released when the run ended
