"""One run at a time per project, and MLflow runs of dead processes closed.

Two runs at once would race on the same outputs, checkpoints and (on first use) on
creating the MLflow store's tables, so every run (``kedro run`` or ``KedroSession.run``)
takes an exclusive lock on ``data/.kedro-run.lock`` before the pipeline starts and before
kedro-mlflow opens its MLflow run; a second one stops at once with a message. The lock
is an OS file lock: it is released when its process ends, even by ``kill -9``. Earlier,
when a session's context is created, kedro-mlflow sets up the MLflow store: any Kedro
process of the project (``kedro run``, ``kedro viz``, a notebook) does that under a short
set-up lock, so that two starting at once do not race on the store's schema.

Holding the run lock, any MLflow run of this project on this machine still marked
RUNNING belongs to a process that died (``kill -9``, a crash, a tracking server that went
away): it is marked KILLED, so the store never keeps phantom running runs. The runs this
process starts then carry their machine's name (:data:`.run_tags.HOST_TAG`, through
MLflow's ``MLFLOW_RUN_CONTEXT``), so that on a team's tracking server a run of another
machine's clone at the same path is never taken for a dead one.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from kedro.framework.hooks import hook_impl

from mnist_pipeline.errors import UserFacingError

from .run_tags import HOST_TAG, with_run_context

logger = logging.getLogger(__name__)

LOCK_FILE = Path("data") / ".kedro-run.lock"
#: Serialises the MLflow store's set-up; held only while kedro-mlflow sets up.
SETUP_LOCK_FILE = Path("data") / ".mlflow-setup.lock"
#: How long a process waits for another one's MLflow set-up (seconds).
SETUP_WAIT = 300


class ConcurrentRunError(UserFacingError, RuntimeError):
    """Another run holds this project's run lock."""


def _lock(path: Path) -> FileLock:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), thread_local=False)


def acquire_setup_lock(project_path: Path) -> FileLock:
    """The project's MLflow set-up lock, held; waits while another process holds it."""
    lock_path = project_path / SETUP_LOCK_FILE
    lock = _lock(lock_path)
    try:
        lock.acquire(timeout=SETUP_WAIT)
    except Timeout:
        raise ConcurrentRunError(
            f"Another Kedro process of this project has held {lock_path} for {SETUP_WAIT} s "
            "while setting up MLflow; if none is running, delete that file and run again."
        ) from None
    return lock


def acquire_run_lock(project_path: Path) -> FileLock:
    """The project's run lock, held; release it with ``.release()``.

    Raises:
        ConcurrentRunError: at once, when another process holds it.
    """
    lock_path = project_path / LOCK_FILE
    lock = _lock(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConcurrentRunError(
            f"Another `kedro run` is in progress in this project (it holds {lock_path}); "
            "wait for it to finish, then run again."
        ) from None
    return lock


def mark_dead_runs_killed(project_path: str) -> None:
    """Runs of this project on this machine left RUNNING by a process that died are
    KILLED, not running."""
    import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

    try:
        runs = mlflow.search_runs(
            search_all_experiments=True,
            filter_string=(
                f"attributes.status = 'RUNNING' and tags.project_path = '{project_path}' "
                f"and tags.{HOST_TAG} = '{socket.gethostname()}'"
            ),
            output_format="list",
        )
    except Exception as exc:  # noqa: BLE001 (a store we cannot read is reported by the run)
        logger.debug("Could not look for interrupted MLflow runs: %s", exc)
        return
    client = mlflow.MlflowClient()
    active = mlflow.active_run()
    for run in runs:
        if active is not None and run.info.run_id == active.info.run_id:
            continue
        client.set_terminated(run.info.run_id, status="KILLED")
        logger.warning(
            "MLflow run %s ('%s') was left RUNNING by an interrupted process: marked KILLED.",
            run.info.run_id,
            run.info.run_name,
        )


class OneRunAtATimeHook:
    """Hold the project's run lock for the run; mark runs of dead processes KILLED; tag the
    run with its machine."""

    def __init__(self) -> None:
        """Hold nothing yet."""
        self._lock: FileLock | None = None
        self._setup_lock: FileLock | None = None

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        """Before kedro-mlflow sets up the MLflow store (``tryfirst``), wait for any other
        process of the project doing the same."""
        self._release_setup()
        self._setup_lock = acquire_setup_lock(Path(context.project_path))

    @hook_impl(trylast=True)
    def after_catalog_created(self) -> None:
        """kedro-mlflow's set-up is done by the time the catalog exists."""
        self._release_setup()

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        """Take the lock, close the runs it proves dead, and name this machine (and the
        Airflow task) on the runs to come, before kedro-mlflow opens this run's MLflow run
        (``tryfirst``)."""
        self._release_setup()
        self._release()  # an earlier run in this process that failed before it started
        project_path = run_params["project_path"]
        self._lock = acquire_run_lock(Path(project_path))
        mark_dead_runs_killed(str(project_path))
        os.environ["MLFLOW_RUN_CONTEXT"] = with_run_context(os.environ)

    @hook_impl(trylast=True)
    def after_pipeline_run(self) -> None:
        """Release the lock after every other hook has finished with the run."""
        self._release()

    @hook_impl(trylast=True)
    def on_pipeline_error(self) -> None:
        """Release the lock of a run that failed."""
        self._release()

    def _release_setup(self) -> None:
        if self._setup_lock is not None:
            self._setup_lock.release(force=True)
            self._setup_lock = None

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release(force=True)
            self._lock = None
