"""One study shared by several workers on the team's PostgreSQL (``--env server``), and a
worker killed mid-trial: each trial runs once, all land in the team's MLflow, none is left
running."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import mlflow
import optuna
import pytest

from ..conftest import model_input
from ..project import copy_project, kedro_logs, start_kedro, write_model_input
from .team_server import Postgres, TrackingServer, postgres_missing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(postgres_missing() is not None, reason=str(postgres_missing())),
]

ADMIN_PASSWORD = "admin-password-for-tests"  # noqa: S105 (a throwaway test server's)
SHORT = "tune.steps=200,tune.eval_every=100,tune.pruner=none,tune.startup_trials=2"


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Iterator[tuple[Postgres, TrackingServer]]:
    postgres = Postgres()
    postgres.start("mlflow", "mlflow_auth", "optuna")
    server = TrackingServer(tmp_path_factory.mktemp("server"), postgres, ADMIN_PASSWORD)
    try:
        server.start()
        yield postgres, server
    finally:
        server.stop()
        postgres.stop()


def _env(postgres: Postgres, server: TrackingServer) -> dict[str, str]:
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": server.uri,
        "MLFLOW_TRACKING_USERNAME": "admin",
        "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD,
        "MNIST_TUNING_STORAGE": postgres.uri("optuna"),
    }


def _worker_project(root, heartbeat: bool = False):
    project = copy_project(root)
    write_model_input(project, model_input(2000, 200, 200))
    if heartbeat:  # a dead worker's trial found stale within seconds
        (project / "conf" / "server" / "catalog.yml").write_text(
            "tuning_storage:\n"
            "  type: mnist_pipeline.datasets.OptunaStorageDataset\n"
            '  url: ${oc.env:MNIST_TUNING_STORAGE,""}\n'
            "  heartbeat_seconds: 1\n"
            "  grace_seconds: 4\n"
        )
    return project


def _study(postgres: Postgres, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=postgres.uri("optuna"))


def _trial_runs(server: TrackingServer, study: str) -> list:
    os.environ.update(
        {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD}
    )
    try:
        client = mlflow.MlflowClient(tracking_uri=server.uri)
        experiment = client.get_experiment_by_name("mnist_pipeline")
        return [
            run
            for run in client.search_runs([experiment.experiment_id], max_results=1000)
            if run.data.tags.get("tuning.study") == study and "tuning.trial" in run.data.tags
        ]
    finally:
        for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            os.environ.pop(key, None)


def _wait_until_stale(postgres: Postgres, name: str) -> None:
    """Wait until the study's running trial has missed its heartbeats for the grace period
    (1 s and 4 s, as :func:`_worker_project` sets them): Optuna's own check, the one the
    next worker makes before it takes a trial."""
    storage = optuna.storages.RDBStorage(
        postgres.uri("optuna"), heartbeat_interval=1, grace_period=4
    )
    study_id = storage.get_study_id_from_name(name)
    deadline = time.monotonic() + 60
    while not storage._get_stale_trial_ids(study_id):  # the check a worker makes
        assert time.monotonic() < deadline, "the killed trial never went stale"
        time.sleep(0.5)


def test_two_workers_at_once_share_one_study_each_trial_once(team, tmp_path):
    postgres, server = team
    env = _env(postgres, server)
    workers = [
        start_kedro(
            _worker_project(tmp_path / f"worker-{n}"),
            "--pipeline=tune",
            "--env",
            "server",
            f"--params={SHORT},tune.trials=3,tune.worker={n},tune.study_name=shared",
            env=env,
        )
        for n in range(2)
    ]
    for n, worker in enumerate(workers):
        assert worker.wait(timeout=600) == 0, kedro_logs(tmp_path / f"worker-{n}")[-3000:]
    trials = _study(postgres, "shared").trials
    assert sorted(t.number for t in trials) == list(range(6))  # unique, and the sum of both
    assert {t.state.name for t in trials} == {"COMPLETE"}
    runs = _trial_runs(server, "shared")
    assert sorted(int(run.data.tags["tuning.trial"]) for run in runs) == list(range(6))
    assert {run.data.tags["trial_state"] for run in runs} == {"complete"}


def test_a_worker_killed_mid_trial_leaves_it_to_be_retried_not_running(team, tmp_path):
    postgres, server = team
    env = _env(postgres, server)
    project = _worker_project(tmp_path / "worker", heartbeat=True)
    params = "tune.trials=1,tune.study_name=killed,tune.pruner=none"
    worker = start_kedro(
        project,
        "--pipeline=tune",
        "--env",
        "server",
        f"--params={params},tune.steps=50000",
        env=env,
    )
    deadline = time.monotonic() + 300
    while True:
        assert worker.poll() is None, kedro_logs(project)[-3000:]
        assert time.monotonic() < deadline, "no trial started"
        try:
            running = [t for t in _study(postgres, "killed").trials if t.state.name == "RUNNING"]
        except KeyError:  # the study is not created yet
            running = []
        if running and _trial_runs(server, "killed"):
            break
        time.sleep(0.5)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=60)
    _wait_until_stale(postgres, "killed")
    again = start_kedro(
        project,
        "--pipeline=tune",
        "--env",
        "server",
        f"--params={params},tune.steps=200,tune.eval_every=100",
        env=env,
    )
    assert again.wait(timeout=600) == 0, kedro_logs(project)[-3000:]
    trials = {t.number: t for t in _study(postgres, "killed").trials}
    assert trials[0].state.name == "FAIL"
    (retry,) = [t for t in trials.values() if t.system_attrs.get("failed_trial") == 0]
    assert retry.state.name == "COMPLETE" and retry.params == trials[0].params
    assert not [t for t in trials.values() if t.state.name in ("RUNNING", "WAITING")]
    runs = {int(run.data.tags["tuning.trial"]): run for run in _trial_runs(server, "killed")}
    assert runs[0].info.status == "KILLED"  # closed by the next run, like any dead run
    assert runs[retry.number].data.tags["trial_state"] == "complete"
