"""The pipeline as an Apache Airflow DAG, set up as the docs say ("Running on Airflow").

Airflow lives in a virtual environment of its own (``.airflow-venv``, see
:mod:`tests.e2e.airflow_venv`); the project goes in as the wheel ``kedro package`` builds.
Each task runs in a "worker" folder holding only the packaged configuration; the data
the tasks pass on lives in a separate shared folder (``MNIST_DATA_ROOT``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import PROJECT_ROOT
from ..project import copy_project, run_kedro
from .airflow_venv import VENV, ensure_airflow_venv

pytestmark = pytest.mark.slow

DAG_ID = "mnist-pipeline"
DAG_FILE = "mnist_pipeline_airflow_dag.py"
TUNE_DAG_ID = "mnist-pipeline-tune"
TUNE_DAG_FILE = "mnist_pipeline_airflow_tune_dag.py"
MONITOR_DAG_ID = "mnist-pipeline-monitor"
MONITOR_DAG_FILE = "mnist_pipeline_airflow_monitor_dag.py"


@dataclass
class Airflow:
    """An Airflow installation with the project's DAG, and a worker folder to run it in."""

    home: Path
    worker: Path
    shared_data: Path

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "MLFLOW_TRACKING_URI": f"sqlite:///{self.worker / 'mlflow.db'}",
            "MNIST_DATA_ROOT": str(self.shared_data),
            "MNIST_TUNING_STORAGE": f"sqlite:///{self.shared_data / 'optuna.db'}",
            "KEDRO_DISABLE_TELEMETRY": "1",
            "COLUMNS": "200",
        }

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """``airflow <args>`` in the worker folder; output captured."""
        return subprocess.run(
            [str(VENV / "bin" / "airflow"), *args],
            cwd=self.worker,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, real_mnist_dir) -> Airflow:
    """Airflow installed as the README says, its database made, the DAG in its folder."""
    root = tmp_path_factory.mktemp("airflow")
    project = copy_project(root / "project")
    for name in ("README.md", "airflow", "airflow_dags"):
        source = PROJECT_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    packaged = run_kedro(project, "package")
    assert packaged.returncode == 0, packaged.stdout + packaged.stderr
    (wheel,) = (project / "dist").glob("mnist_pipeline-*.whl")
    ensure_airflow_venv(wheel)

    setup = Airflow(root / "airflow-home", root / "worker", root / "shared-data")
    (setup.home / "dags").mkdir(parents=True)
    for dag_file in (DAG_FILE, TUNE_DAG_FILE, MONITOR_DAG_FILE):
        shutil.copy(project / "airflow_dags" / dag_file, setup.home / "dags" / dag_file)
    setup.worker.mkdir()
    with tarfile.open(project / "dist" / "conf-mnist_pipeline.tar.gz") as archive:
        archive.extractall(setup.worker, filter="data")
    (setup.shared_data / "01_raw").mkdir(parents=True)
    for source in real_mnist_dir.glob("*-ubyte.gz"):
        shutil.copy(source, setup.shared_data / "01_raw" / source.name)
    for command in (("db", "migrate"), ("dags", "reserialize")):
        result = setup.run(*command)
        assert result.returncode == 0, result.stdout + result.stderr
    return setup


def _set_training(worker: Path, steps: int, eval_every: int) -> None:
    parameters = worker / "conf" / "base" / "parameters_train.yml"
    text = re.sub(r"(?m)^  steps: \d+", f"  steps: {steps}", parameters.read_text())
    text = re.sub(r"(?m)^  eval_every: \d+", f"  eval_every: {eval_every}", text)
    parameters.write_text(text)


@pytest.mark.parametrize(
    ("dag_file", "pipeline"),
    [
        (DAG_FILE, ()),
        (TUNE_DAG_FILE, ("--pipelines", "tune")),
        (MONITOR_DAG_FILE, ("--pipelines", "monitor")),
    ],
)
def test_the_committed_dags_are_what_kedro_airflow_generates(tmp_path, dag_file, pipeline):
    project = copy_project(tmp_path / "project")
    shutil.copytree(PROJECT_ROOT / "airflow", project / "airflow")
    command = (*README_CREATE_COMMAND[:2], *pipeline, *README_CREATE_COMMAND[2:])
    result = subprocess.run(
        [sys.executable, "-m", "kedro", *command],
        cwd=project,
        env={
            **os.environ,
            "KEDRO_DISABLE_TELEMETRY": "1",
            "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    generated = (project / "airflow_dags" / dag_file).read_text()
    assert generated == (PROJECT_ROOT / "airflow_dags" / dag_file).read_text()
    assert f"kedro {' '.join(command)}" in (PROJECT_ROOT / "docs" / "airflow.md").read_text()


#: How the docs generate the DAG (``kedro airflow create ...``).
README_CREATE_COMMAND = (
    "airflow",
    "create",
    "--env",
    "airflow",
    "--group-by",
    "namespace",
    "--jinja-file",
    "airflow/dag_template.j2",
)


def test_airflow_lists_the_dag_with_its_four_stage_tasks_and_no_import_errors(airflow):
    listed = airflow.run("dags", "list")
    assert listed.returncode == 0 and DAG_ID in listed.stdout, listed.stdout + listed.stderr
    errors = airflow.run("dags", "list-import-errors")
    assert "No data found" in errors.stdout + errors.stderr, errors.stdout + errors.stderr
    tasks = airflow.run("tasks", "list", DAG_ID)
    assert tasks.stdout.split() == ["evaluate", "ingest", "preprocess", "train"], tasks.stdout
    assert TUNE_DAG_ID in listed.stdout
    tasks = airflow.run("tasks", "list", TUNE_DAG_ID)
    assert tasks.stdout.split() == ["train-best", "tune"], tasks.stdout
    assert MONITOR_DAG_ID in listed.stdout
    tasks = airflow.run("tasks", "list", MONITOR_DAG_ID)
    assert tasks.stdout.split() == ["monitor"], tasks.stdout


def test_dags_test_runs_every_stage_to_success_and_one_story_in_mlflow(airflow):
    import mlflow

    _set_training(airflow.worker, steps=500, eval_every=250)
    result = airflow.run("dags", "test", DAG_ID)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "state=success" in output and "DagRun Finished" in output, output[-5000:]
    for task in ("ingest", "preprocess", "train", "evaluate"):
        assert re.search(rf"end task task_id={task}\b", output), task

    store = f"sqlite:///{airflow.worker / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    experiment = client.get_experiment_by_name("mnist_pipeline")
    runs = client.search_runs([experiment.experiment_id])
    by_task = {run.data.tags.get("airflow.task_id"): run for run in runs}
    assert set(by_task) == {"ingest", "preprocess", "train", "evaluate"}
    (dag_run_id,) = {run.data.tags["airflow.dag_run_id"] for run in runs}
    together = client.search_runs(
        [experiment.experiment_id], f"tags.\"airflow.dag_run_id\" = '{dag_run_id}'"
    )
    assert len(together) == 4 and all(run.info.status == "FINISHED" for run in together)

    train = by_task["train"]
    history = client.get_metric_history(train.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [0, 250, 500]
    assert train.data.metrics["test_accuracy"] > 0.9
    top_level = {item.path for item in client.list_artifacts(train.info.run_id)}
    assert "checkpoint" in top_level
    (version,) = client.search_model_versions("name='mnist_classifier'")
    assert version.run_id == train.info.run_id
    assert (
        client.get_model_version_by_alias("mnist_classifier", "champion").version == version.version
    )
    evaluate = by_task["evaluate"]
    assert evaluate.data.tags["training_run_id"] == train.info.run_id
    assert evaluate.data.metrics["evaluation_test_accuracy"] == pytest.approx(
        train.data.metrics["test_accuracy"], abs=1e-6
    )
    assert (airflow.shared_data / "08_reporting" / "training_history.csv").is_file()


def test_a_train_task_killed_mid_way_resumes_from_its_checkpoint_when_retried(airflow):
    _set_training(airflow.worker, steps=4000, eval_every=250)
    folder = airflow.shared_data / "06_models" / "resume_checkpoints"
    shutil.rmtree(folder, ignore_errors=True)
    command = [str(VENV / "bin" / "airflow"), "tasks", "test", DAG_ID, "train"]
    task = subprocess.Popen(
        command,
        cwd=airflow.worker,
        env=airflow.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        # A checkpoint is complete once its sidecar is written, after TensorFlow's files
        # (killed between the two, the next run rightly sets the folder aside).
        while not list(folder.glob("ckpt-*.json")) and task.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert list(folder.glob("ckpt-*.json")), "the train task wrote no complete checkpoint"
    finally:
        os.killpg(task.pid, signal.SIGKILL)
        task.wait()

    retried = airflow.run("tasks", "test", DAG_ID, "train")
    output = retried.stdout + retried.stderr
    assert retried.returncode == 0, output[-5000:]
    assert re.search(r"Resuming training from step [1-9]\d*", output), output[-5000:]
    assert not folder.exists()  # removed once training completed


def _set_search(worker: Path, **settings) -> None:
    parameters = worker / "conf" / "base" / "parameters_tune.yml"
    text = parameters.read_text()
    for key, value in settings.items():
        text = re.sub(rf"(?m)^  {key}: \S+", f"  {key}: {value}", text)
    parameters.write_text(text)


def test_the_tune_dag_runs_two_workers_on_one_study_then_trains_the_best(airflow):
    """After the default DAG's test, whose preprocess left the model input in the shared data."""
    import mlflow

    _set_training(airflow.worker, steps=300, eval_every=150)
    _set_search(
        airflow.worker, trials=2, steps=200, eval_every=100, startup_trials=1, pruner="none"
    )
    result = airflow.run("dags", "test", TUNE_DAG_ID)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "DagRun Finished" in output and "state=success" in output, output[-5000:]

    store = f"sqlite:///{airflow.worker / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    experiment = client.get_experiment_by_name("mnist_pipeline")
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    (dag_run_id,) = {
        r.data.tags["airflow.dag_run_id"]
        for r in runs
        if r.data.tags.get("airflow.dag_id") == TUNE_DAG_ID
    }
    this_dag_run = [r for r in runs if r.data.tags.get("airflow.dag_run_id") == dag_run_id]
    workers = [r for r in this_dag_run if r.info.run_name == "tune"]
    assert len(workers) == 2 and all(r.info.status == "FINISHED" for r in workers)
    worker_ids = {r.info.run_id for r in workers}
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") in worker_ids]
    assert sorted(int(r.data.tags["tuning.trial"]) for r in trials) == [0, 1, 2, 3]
    (best,) = [r for r in this_dag_run if r.info.run_name == "train_best"]
    (version,) = client.search_model_versions(f"run_id = '{best.info.run_id}'")
    assert version.tags["tuning.study"] == "mnist_pipeline"
