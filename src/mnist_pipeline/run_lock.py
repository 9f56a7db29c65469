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


class ConcurrentRunError(UserFacingError, RuntimeError):
    """Another run holds this project's run lock."""


def acquire_run_lock(project_path: Path) -> FileLock:
    """The project's run lock, held; release it with ``.release()``.

    Raises:
        ConcurrentRunError: at once, when another process holds it.
    """
    lock_path = project_path / LOCK_FILE
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConcurrentRunError(
            f"Another `kedro run` is in progress in this project (it holds {lock_path}); "
            "wait for it to finish, then run again."
        ) from None
    return lock
