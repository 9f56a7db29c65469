"""One run at a time per project.

Two runs at once would race on the same outputs, checkpoints and (on first use) on
creating the MLflow store's tables, so every run takes an exclusive lock on
``data/.kedro-run.lock`` before it does anything else, and a second one stops at once
with a message. The lock is an OS file lock: it is released when its process ends, even
by ``kill -9``. While it is held, any MLflow run of this project still marked RUNNING
must belong to a process that died. :class:`mnist_pipeline.hooks.runs.OneRunAtATimeHook`
takes it for every run, through ``kedro run`` or ``KedroSession.run``.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from mnist_pipeline.errors import UserFacingError

LOCK_FILE = Path("data") / ".kedro-run.lock"
#: Serialises the MLflow store's set-up (creating a SQLite store's tables on first use is
#: not safe when two processes do it at once); held only while kedro-mlflow sets up.
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
