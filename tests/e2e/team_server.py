"""A throwaway PostgreSQL cluster and an MLflow tracking server with authentication on
it, started as the README's "Sharing runs with a team" says, each in its own process
group. PostgreSQL refuses to run as root: the cluster runs as the ``postgres`` user."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from .servers import Watchdog, free_port

POSTGRES_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def postgres_missing() -> str | None:
    """Why a PostgreSQL cluster cannot be started here, or ``None``."""
    if not POSTGRES_BINARIES or not (POSTGRES_BINARIES[-1] / "initdb").is_file():
        return "PostgreSQL is not installed (Debian's postgresql package; .ci/run installs it)"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "starting a cluster as the postgres user needs root and runuser"
    return None


class Postgres:
    """A cluster in a temporary directory of its own (the ``postgres`` user cannot enter
    pytest's root-only folders), listening on 127.0.0.1 only, trusting local connections."""

    def __init__(self) -> None:
        self.data = Path(tempfile.mkdtemp(prefix="mnist-pipeline-postgres-")) / "pgdata"
        self.port = free_port()
        self.bin = POSTGRES_BINARIES[-1]
        self.watchdog: Watchdog | None = None

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            text=True,
        )

    def start(self, *databases: str) -> None:
        self.data.mkdir()
        shutil.chown(self.data.parent, "postgres")
        shutil.chown(self.data, "postgres")
        self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.data}",
            "-w",
            "start",
        )
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        # Immediate shutdown (SIGQUIT) if the tests end without stopping the cluster.
        self.watchdog = Watchdog(f"pid:{postmaster}:QUIT", f"folder:{self.data.parent}:")
        for name in databases:
            subprocess.run(
                [
                    str(self.bin / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    name,
                ],
                check=True,
            )

    def uri(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_postgres(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
            )
        if self.watchdog is not None:
            self.watchdog.disarm()
            self.watchdog = None
        shutil.rmtree(self.data.parent, ignore_errors=True)


AUTH_CONFIG = """[mlflow]
default_permission = READ
database_uri = {database_uri}
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
auth_cache_ttl_seconds = 60
"""


class TrackingServer:
    """``mlflow server`` on PostgreSQL, proxying artifacts, with basic authentication."""

    def __init__(self, root: Path, postgres: Postgres, admin_password: str) -> None:
        self.root = root
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.backend = postgres.uri("mlflow")
        (root / "basic_auth.ini").write_text(
            AUTH_CONFIG.format(database_uri=postgres.uri("mlflow_auth"))
        )
        self.env = {
            **os.environ,
            "MLFLOW_AUTH_CONFIG_PATH": str(root / "basic_auth.ini"),
            "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-secret-key",
            "MLFLOW_AUTH_ADMIN_PASSWORD": admin_password,  # used on first start only
        }
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            self.env.pop(key, None)
        self.process: subprocess.Popen | None = None
        self.watchdog: Watchdog | None = None

    def start(self, timeout: float = 180) -> None:
        command = [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--backend-store-uri",
            self.backend,
            "--artifacts-destination",
            str(self.root / "artifacts"),
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "2",
            "--app-name",
            "basic-auth",
        ]
        log = open(self.root / f"mlflow-server-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.watchdog = Watchdog(f"group:{self.process.pid}:TERM")
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited; see {log.name}")
            try:
                urllib.request.urlopen(f"{self.uri}/health", timeout=2).close()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.uri}/health did not answer") from None
                time.sleep(0.5)

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None
        self.watchdog.disarm()
        self.watchdog = None
