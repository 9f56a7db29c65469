"""A pytest run stopped while its servers run (Ctrl-C, a runner's SIGTERM, ``kill -9``)
leaves no server behind: their watchdogs stop the PostgreSQL cluster and the MLflow
server, and remove the cluster's folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import PROJECT_ROOT
from .team_server import postgres_missing

pytestmark = pytest.mark.slow

CHILD_TEST = """
import json, os, time
from pathlib import Path

from tests.e2e.team_server import Postgres, TrackingServer


def test_servers_running_when_interrupted(tmp_path):
    postgres = Postgres()
    postgres.start("mlflow", "mlflow_auth")
    tracking = TrackingServer(tmp_path, postgres, admin_password="a-long-admin-password")
    tracking.start()
    postmaster = int((postgres.data / "postmaster.pid").read_text().split()[0])
    Path(os.environ["SERVERS_FILE"]).write_text(json.dumps({
        "postmaster": postmaster,
        "mlflow_group": tracking.process.pid,
        "cluster_folder": str(postgres.data.parent),
    }))
    time.sleep(600)
"""


def _alive(kill, number: int) -> bool:
    try:
        kill(number, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(postgres_missing() is not None, reason=str(postgres_missing()))
@pytest.mark.parametrize(
    "stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name
)
def test_stopping_pytest_mid_test_leaves_no_server_running(tmp_path, stop):
    (tmp_path / "test_child.py").write_text(CHILD_TEST)
    servers_file = tmp_path / "servers.json"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "SERVERS_FILE": str(servers_file)}
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-s"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, signalled as a terminal or runner would
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 240
        while not servers_file.exists():
            assert child.poll() is None, "the child test ended before its servers ran"
            assert time.monotonic() < deadline, "the servers did not start"
            time.sleep(0.5)
        servers = json.loads(servers_file.read_text())
        assert _alive(os.kill, servers["postmaster"]) and _alive(os.killpg, servers["mlflow_group"])
        os.killpg(child.pid, stop)
        child.wait(timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            _alive(os.kill, servers["postmaster"])
            or _alive(os.killpg, servers["mlflow_group"])
            or Path(servers["cluster_folder"]).exists()
        ):
            time.sleep(0.5)
        assert not _alive(os.kill, servers["postmaster"]), "PostgreSQL left running"
        assert not _alive(os.killpg, servers["mlflow_group"]), "the MLflow server left running"
        assert not Path(servers["cluster_folder"]).exists(), "the cluster's folder left behind"
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
