"""One ``kedro run`` at a time per project.

Two runs at once would race on the same outputs, checkpoints and (on first use) on
creating the MLflow store's tables, so ``kedro run`` takes an exclusive lock on
``data/.kedro-run.lock`` before it does anything else, and a second one stops at once
with a message. The lock is an OS file lock: it is released when its process ends, even
by ``kill -9``. While it is held, any MLflow run of this project still marked RUNNING
must belong to a process that died.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from mnist_pipeline.errors import UserFacingError

LOCK_FILE = Path("data") / ".kedro-run.lock"
_held_for: Path | None = None


class ConcurrentRunError(UserFacingError, RuntimeError):
    """Another ``kedro run`` holds this project's run lock."""


@contextlib.contextmanager
def exclusive_run(project_path: Path) -> Iterator[None]:
    """Hold the project's run lock for the duration, or raise at once."""
    global _held_for  # noqa: PLW0603 (one lock per process, like the OS's)
    lock_path = project_path / LOCK_FILE
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConcurrentRunError(
            f"Another `kedro run` is in progress in this project (it holds {lock_path}); "
            "wait for it to finish, then run again."
        ) from None
    _held_for = project_path
    try:
        yield
    finally:
        _held_for = None
        lock.release()


def held_for() -> Path | None:
    """The project whose run lock this process holds, if any."""
    return _held_for
