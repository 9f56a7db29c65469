"""A team's tracking server: ``kedro run --env server`` against a real MLflow server on
PostgreSQL with authentication, several members at once, and nothing lost when it blips.

One PostgreSQL cluster and one server serve the whole module; the tests run in file
order and the last one checks the database holds exactly the runs the others made.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import closed_port_url, make_split, model_input
from ..project import (
    CHECKPOINTS,
    artifact_paths,
    copy_project,
    finish,
    kedro_logs,
    start_kedro,
    wait_for_checkpoints,
    write_model_input,
)
from .team_server import Postgres, TrackingServer, postgres_missing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(postgres_missing() is not None, reason=str(postgres_missing())),
]

ADMIN = "admin"
MEMBERS = ("alice", "bob", "carol", "dave")
READER = "erin"
EXPERIMENT = "mnist_pipeline"
MODEL = "mnist_classifier"
#: Runs each test made on the server; the last test counts them there.
RUNS_MADE: dict[str, int] = {}


def _password(user: str) -> str:
    return f"{user}-password-for-tests"  # MLflow wants 12 characters or more


def _client_env(server: TrackingServer, user: str | None, password: str | None = None) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}
    }
    env.update({"MLFLOW_TRACKING_URI": server.uri, "KEDRO_DISABLE_TELEMETRY": "1"})
    env["COLUMNS"] = "200"
    if user is not None:
        env["MLFLOW_TRACKING_USERNAME"] = user
        env["MLFLOW_TRACKING_PASSWORD"] = password or _password(user)
    return env


@contextlib.contextmanager
def _as(user: str, password: str | None = None) -> Iterator[None]:
    """MLflow clients of this process send ``user``'s credentials for the duration."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ["MLFLOW_TRACKING_USERNAME"] = user
    os.environ["MLFLOW_TRACKING_PASSWORD"] = password or _password(user)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _client(server: TrackingServer):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)


def _runs(server: TrackingServer) -> list:
    """Every run of the project's experiment, newest first (read as the admin)."""
    with _as(ADMIN):
        client = _client(server)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return []
        return client.search_runs(
            [experiment.experiment_id], order_by=["attributes.start_time DESC"]
        )


def _new_runs(server: TrackingServer, before: list) -> list:
    known = {run.info.run_id for run in before}
    return [run for run in _runs(server) if run.info.run_id not in known]


def _kedro(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", "server", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _access(server: TrackingServer, action: str, user: str) -> None:
    """The README's command for the admin to add a team member or a reader."""
    result = subprocess.run(
        [sys.executable, "-m", "mnist_pipeline.tracking_server", action, user],
        input=_password(user) + "\n",
        env=_client_env(server, ADMIN),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[TrackingServer]:
    root = tmp_path_factory.mktemp("team-server")
    postgres = Postgres()
    postgres.start("mlflow", "mlflow_auth")
    tracking = TrackingServer(root, postgres, admin_password=_password(ADMIN))
    try:
        tracking.start()
        for member in MEMBERS:
            _access(tracking, "add-member", member)
        _access(tracking, "add-reader", READER)
        yield tracking
    finally:
        tracking.stop()
        postgres.stop()


def _training_project(root: Path) -> Path:
    project = copy_project(root)
    write_model_input(project, model_input(2000, 200, 200))
    return project


def test_server_down_at_start_stops_with_one_message_and_no_local_store(tmp_path):
    project = _training_project(tmp_path / "project")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "COLUMNS": "200"}
    env["MLFLOW_TRACKING_URI"] = closed_port_url().rstrip("/")
    result = _kedro(project, env, "--pipeline=train")
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"Error: The MLflow tracking server at {env['MLFLOW_TRACKING_URI']}")
    assert "cannot be reached" in message and "MLFLOW_TRACKING_URI" in message
    assert "Traceback" not in result.stdout + result.stderr
    assert not (project / "mlflow.db").exists() and not (project / "mlruns").exists()
    assert not (project / CHECKPOINTS).exists()  # no training started


def test_four_team_members_at_once_then_evaluate_and_predict(server, tmp_path):
    """Concurrency, not accuracy: four short runs on small data finishing together."""
    before = _runs(server)
    projects = [_training_project(tmp_path / member) for member in MEMBERS]
    processes = [
        start_kedro(
            project,
            "--env",
            "server",
            "--pipeline=train",
            f"--params=train.steps=500,train.eval_every=100,train.seed={seed}",
            env=_client_env(server, member),
        )
        for seed, (member, project) in enumerate(zip(MEMBERS, projects, strict=True))
    ]
    codes = [finish(process, project) for process, project in zip(processes, projects, strict=True)]
    assert codes == [0, 0, 0, 0], "\n".join(kedro_logs(p)[-2000:] for p in projects)

    runs = _new_runs(server, before)
    assert sorted(run.info.run_name for run in runs) == ["train"] * 4
    assert {run.info.status for run in runs} == {"FINISHED"}
    with _as(ADMIN):
        client = _client(server)
        for run in runs:
            history = client.get_metric_history(run.info.run_id, "val_accuracy")
            assert sorted(m.step for m in history) == list(range(0, 501, 100))
            artifacts = artifact_paths(client, run.info.run_id)
            assert {"checkpoint/checkpoint", "reports/training_history.csv"} <= artifacts
        versions = client.search_model_versions(f"name = '{MODEL}'")
        assert {v.run_id for v in versions} == {run.info.run_id for run in runs}
        champion = client.get_model_version_by_alias(MODEL, "champion")
        best = max((float(v.tags["val_accuracy"]), int(v.version)) for v in versions)
        assert (float(champion.tags["val_accuracy"]), int(champion.version)) == best
    for project in projects:
        assert not (project / "mlflow.db").exists() and not (project / "mlruns").exists()
    RUNS_MADE["four members"] = 4

    # The other commands, on the server: evaluate the latest model, predict with the champion.
    project = projects[0]
    evaluated = _kedro(project, _client_env(server, MEMBERS[0]), "--pipeline=evaluate")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    folder = project / "data" / "01_raw" / "new_digits"
    folder.mkdir()
    images, _ = make_split(3, seed=5)
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{index}.png")
    predicted = _kedro(project, _client_env(server, MEMBERS[0]), "--pipeline=predict")
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert (
        len((project / "data" / "07_model_output" / "predictions.csv").read_text().splitlines())
        == 4
    )
    evaluate_run, predict_run = sorted(
        _new_runs(server, before + runs), key=lambda r: r.info.start_time
    )
    assert evaluate_run.info.run_name == "evaluate" and predict_run.info.run_name == "predict"
    registration = json.loads(
        (project / "data" / "06_models" / "model_registration.json").read_text()
    )
    assert evaluate_run.data.tags["training_run_id"] == registration["training_run_id"]
    assert predict_run.data.tags["registered_model_version"] == champion.version
    RUNS_MADE["evaluate and predict"] = 2


def test_clients_without_or_with_wrong_credentials_are_refused(server, tmp_path):
    project = _training_project(tmp_path / "project")
    before = _runs(server)
    for env, expected in (
        (
            _client_env(server, None),
            "needs credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
        ),
        (
            _client_env(server, MEMBERS[0], "not-her-password"),
            "refused the password of user 'alice'",
        ),
    ):
        result = _kedro(project, env, "--pipeline=train")
        assert result.returncode == 1
        message = result.stderr.strip().splitlines()[-1]
        assert message.startswith(f"Error: The MLflow tracking server at {server.uri} ")
        assert expected in message
        assert "Traceback" not in result.stdout + result.stderr
    assert _new_runs(server, before) == []
    assert not (project / "mlflow.db").exists()


def test_a_reader_can_neither_run_nor_move_the_champion(server, tmp_path):
    from mlflow.exceptions import MlflowException

    project = _training_project(tmp_path / "project")
    before = _runs(server)
    result = _kedro(project, _client_env(server, READER), "--pipeline=train")
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert f"The MLflow tracking server at {server.uri} refused a request" in message
    assert "Traceback" not in result.stdout + result.stderr
    assert _new_runs(server, before) == []

    with _as(ADMIN):
        champion = _client(server).get_model_version_by_alias(MODEL, "champion").version
    other = "1" if champion != "1" else "2"
    with _as(READER), pytest.raises(MlflowException) as refused:
        _client(server).set_registered_model_alias(MODEL, "champion", other)
    assert refused.value.error_code == "PERMISSION_DENIED"
    with _as(ADMIN):
        assert _client(server).get_model_version_by_alias(MODEL, "champion").version == champion


PARAMS = "--params=train.steps=4000,train.eval_every=500,train.batch_size=50,train.seed=3"


def _val_steps(server: TrackingServer, run) -> list[int]:
    with _as(ADMIN):
        history = _client(server).get_metric_history(run.info.run_id, "val_accuracy")
    return sorted(m.step for m in history)


def test_server_stopped_and_restarted_during_training_loses_nothing(server, tmp_path):
    project = _training_project(tmp_path / "project")
    env = _client_env(server, MEMBERS[1])
    before = _runs(server)
    process = start_kedro(project, "--env", "server", "--pipeline=train", PARAMS, env=env)
    wait_for_checkpoints(project, process, 1)
    server.stop()  # away for as long as it takes to start again (about ten seconds)
    server.start()
    code = finish(process, project)
    log = kedro_logs(project)
    every_point = list(range(0, 4001, 500))
    runs = _new_runs(server, before)
    if code == 0:  # MLflow's retries carried the run over the outage
        (run,) = runs
        assert run.info.status == "FINISHED"
        assert _val_steps(server, run) == every_point
        RUNS_MADE["server blip"] = 1
    else:  # the run stopped with one message; the next one resumes from the checkpoint
        assert "stopped answering during the run" in log and "Traceback" not in log
        resumed = _kedro(project, env, "--pipeline=train", PARAMS)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert "Resuming training from step" in resumed.stdout + resumed.stderr
        finished, stopped = _new_runs(server, before)
        assert stopped.info.status in {"KILLED", "FAILED"}
        assert finished.info.status == "FINISHED"
        assert _val_steps(server, finished) == every_point
        RUNS_MADE["server blip"] = 2


def test_kill_9_then_the_next_run_resumes_on_the_server(server, tmp_path):
    project = _training_project(tmp_path / "project")
    env = _client_env(server, MEMBERS[2])
    before = _runs(server)
    process = start_kedro(project, "--env", "server", "--pipeline=train", PARAMS, env=env)
    wait_for_checkpoints(project, process, 2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    resumed = _kedro(project, env, "--pipeline=train", PARAMS)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert "Resuming training from step" in log and "was left RUNNING" in log
    finished, killed = _new_runs(server, before)
    assert killed.info.status == "KILLED" and finished.info.status == "FINISHED"
    assert finished.data.tags["resumed_from_run_id"] == killed.info.run_id
    assert _val_steps(server, finished) == list(range(0, 4001, 500))
    RUNS_MADE["kill -9"] = 2


def test_database_schema_is_current_and_holds_exactly_the_runs_made(server):
    import sqlalchemy

    def revision() -> str:
        engine = sqlalchemy.create_engine(server.backend)
        with engine.connect() as connection:
            return connection.execute(
                sqlalchemy.text("SELECT version_num FROM alembic_version")
            ).scalar()

    current = revision()
    upgrade = subprocess.run(
        [str(Path(sys.executable).with_name("mlflow")), "db", "upgrade", server.backend],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    assert revision() == current  # nothing was left to migrate
    assert len(_runs(server)) == sum(RUNS_MADE.values()), RUNS_MADE
