"""Nothing lost: kill -9 and resume, SIGTERM, fingerprint mismatch, concurrent runs."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ..conftest import model_input
from ..project import (
    CHECKPOINTS,
    copy_project,
    mlflow_store,
    run_kedro,
    start_kedro,
    wait_for_checkpoints,
    write_model_input,
)

pytestmark = pytest.mark.slow

STEPS, EVERY = 3000, 500
PARAMS = f"train.steps={STEPS},train.eval_every={EVERY},train.batch_size=50,train.seed=5"


def _model_input() -> dict[str, np.ndarray]:
    return model_input(1000, 200, 200)


def _interrupt(project: Path, sig: int) -> subprocess.Popen:
    """Start training, wait for its second checkpoint, send ``sig`` to the whole group."""
    process = start_kedro(project, "--pipeline=train", f"--params={PARAMS}")
    wait_for_checkpoints(project, process, 2)
    os.killpg(process.pid, sig)
    process.wait(timeout=60)
    return process


def _series(client, run, key="val_accuracy"):
    return sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))


@pytest.fixture
def project(tmp_path):
    root = copy_project(tmp_path / "project")
    write_model_input(root, _model_input())
    return root


def test_sigkill_then_rerun_resumes_and_ends_like_an_uninterrupted_run(project):
    killed = _interrupt(project, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    client, (interrupted,) = mlflow_store(project)
    assert interrupted.info.status == "RUNNING"  # nobody could close it
    # The points measured before the kill reached MLflow while training ran.
    kept = [step for step, _ in _series(client, interrupted)]
    assert kept[:3] == [0, EVERY, 2 * EVERY]

    resumed = run_kedro(project, "run", "--pipeline=train", f"--params={PARAMS}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert "Resuming training from step" in log
    assert f"MLflow run {interrupted.info.run_id} ('train') was left RUNNING" in log
    assert log.count("marked KILLED") == 1
    assert not (project / CHECKPOINTS).exists()  # cleared once training completed

    fresh = run_kedro(project, "run", "--pipeline=train", f"--params={PARAMS}")
    assert fresh.returncode == 0
    assert "Resuming" not in fresh.stdout + fresh.stderr

    client, (uninterrupted, resumed_run, interrupted) = mlflow_store(project)
    assert client.get_run(interrupted.info.run_id).info.status == "KILLED"
    assert resumed_run.data.tags["resumed_from_run_id"] == interrupted.info.run_id
    assert int(resumed_run.data.tags["resumed_from_step"]) >= 2 * EVERY
    assert _series(client, resumed_run) == _series(client, uninterrupted)
    for key in ("train_loss", "learning_rate"):
        assert _series(client, resumed_run, key) == _series(client, uninterrupted, key)
    assert len(_series(client, resumed_run)) == STEPS // EVERY + 1
    assert resumed_run.data.metrics["test_accuracy"] == uninterrupted.data.metrics["test_accuracy"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_sigterm_or_ctrl_c_closes_the_run_as_killed_and_the_next_run_resumes(project, sig):
    stopped = _interrupt(project, sig)
    assert stopped.returncode == 130
    client, (run,) = mlflow_store(project)
    assert run.info.status == "KILLED"
    assert list((project / CHECKPOINTS).glob("ckpt-*.index"))
    kept = _series(client, run)  # logged while it trained

    resumed = run_kedro(project, "run", "--pipeline=train", f"--params={PARAMS}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming training from step" in resumed.stdout + resumed.stderr
    client, (resumed_run, interrupted) = mlflow_store(project)
    assert resumed_run.data.tags["resumed_from_run_id"] == interrupted.info.run_id
    history = _series(client, resumed_run)
    assert [step for step, _ in history] == list(range(0, STEPS + 1, EVERY))
    assert history[: len(kept)] == kept  # the interrupted run's points, then the rest


def test_checkpoint_of_other_settings_is_set_aside_not_resumed(project):
    _interrupt(project, signal.SIGKILL)
    other = PARAMS + ",train.learning_rate_base=0.5"
    result = run_kedro(project, "run", "--pipeline=train", f"--params={other}")
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "Resuming" not in log
    assert "made with other settings (train.learning_rate_base: 0.8 -> 0.5)" in log, log[-6000:]
    set_aside = list((project / CHECKPOINTS.parent).glob("resume_checkpoints.set-aside-*"))
    assert len(set_aside) == 1 and list(set_aside[0].glob("ckpt-*.index"))


def test_resume_false_starts_afresh(project):
    _interrupt(project, signal.SIGKILL)
    result = run_kedro(project, "run", "--pipeline=train", f"--params={PARAMS},train.resume=false")
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "Resuming" not in log and "train.resume is false" in log
    _, runs = mlflow_store(project)
    assert "resumed_from_run_id" not in runs[0].data.tags


def test_two_runs_at_once_one_finishes_the_other_stops_with_a_message(project):
    runs = [start_kedro(project, "--pipeline=train", f"--params={PARAMS}") for _ in range(2)]
    codes = sorted(run.wait(timeout=300) for run in runs)
    assert codes == [0, 1]
    outputs = [p.read_text() for p in sorted(project.glob("kedro-*.log"))]
    stopped = [text for text in outputs if "Another `kedro run` is in progress" in text]
    assert len(stopped) == 1 and "Traceback" not in stopped[0]
    assert "Loading data from" not in stopped[0]
    client, runs = mlflow_store(project)  # the store stays readable
    assert [run.info.status for run in runs] == ["FINISHED"]
    assert len(client.search_model_versions("name = 'mnist_classifier'")) == 1
