"""Where a hyperparameter search keeps its study: Optuna's storage, handed to a node.

Like the checkpoint folder, a study is written while the search runs (every trial, by
every worker at once), so the catalog hands the node Optuna's storage instead of data. It
is Optuna's relational storage: a SQLite file under ``data/`` by default, so a search
needs no server and running it again continues the same study; the team's PostgreSQL
(``conf/server``) when several workers on several machines share one study.

Workers send a heartbeat while a trial runs. A trial whose worker died (``kill -9``, a
lost machine) has no heartbeat for ``grace_seconds``: the next worker to start a trial
marks it failed and queues it again with the same parameters, at most ``max_retry``
times, so no trial is left running for ever.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from mnist_pipeline.errors import UserFacingError

#: How many times opening the storage is tried when another worker is creating its tables.
_CREATE_ATTEMPTS = 5


class StudyStorageError(UserFacingError, RuntimeError):
    """The study's storage cannot be reached or opened."""


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class OptunaStorageDataset(AbstractDataset[None, Any]):
    """``load`` returns Optuna's ``RDBStorage`` on ``url``, with heartbeats and retries.

    Example catalog entries::

        tuning_storage:
          type: mnist_pipeline.datasets.OptunaStorageDataset
          url: sqlite:///data/06_models/tuning/optuna.db

        tuning_storage:  # conf/server: the team's PostgreSQL (password: PGPASSWORD or ~/.pgpass)
          type: mnist_pipeline.datasets.OptunaStorageDataset
          url: ${oc.env:MNIST_TUNING_STORAGE,"postgresql+psycopg://postgres@127.0.0.1:5432/optuna"}
    """

    def __init__(
        self,
        url: str,
        heartbeat_seconds: int = 15,
        grace_seconds: int = 60,
        max_retry: int = 2,
        credentials: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            url: The SQLAlchemy URL of the storage (``sqlite:///...``,
                ``postgresql+psycopg://user@host:port/database``).
            heartbeat_seconds: How often a running trial tells the storage it is alive.
            grace_seconds: How long without a heartbeat before a trial counts as dead.
            max_retry: How many times a dead worker's trial is queued again.
            credentials: ``{url: ...}``, an entry of ``credentials.yml`` that replaces
                ``url`` (so that a password stays out of the repository).
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._url = (credentials or {}).get("url", url)
        self._heartbeat_seconds = int(heartbeat_seconds)
        self._grace_seconds = int(grace_seconds)
        self._max_retry = int(max_retry)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"url": redacted(self._url), "heartbeat_seconds": self._heartbeat_seconds}

    def _exists(self) -> bool:
        return True  # the storage is created when first used

    def load(self) -> Any:
        """The storage, its tables created on first use.

        Raises:
            StudyStorageError: naming the storage and what to set, when it cannot be reached.
        """
        import optuna  # noqa: PLC0415 (only the search needs it)
        from optuna.storages import RetryHeartbeatStaleTrialCallback  # noqa: PLC0415
        from sqlalchemy.exc import IntegrityError, SQLAlchemyError  # noqa: PLC0415

        if self._url.startswith("sqlite:///"):
            Path(self._url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            for attempt in range(_CREATE_ATTEMPTS):
                try:
                    return self._open(optuna, RetryHeartbeatStaleTrialCallback)
                except IntegrityError:
                    # Two workers starting on an empty database create its tables at once:
                    # the one that loses sees the other's tables on its next attempt.
                    if attempt == _CREATE_ATTEMPTS - 1:
                        raise
                    time.sleep(0.5 * (attempt + 1))
        except (SQLAlchemyError, OSError, ValueError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise StudyStorageError(
                f"The study storage {redacted(self._url)} cannot be opened ({reason}). Start "
                "the database, or point the catalog's tuning_storage at one that runs (with "
                "--env server: set MNIST_TUNING_STORAGE; a password goes in PGPASSWORD or "
                "~/.pgpass), then run again."
            ) from None

    def _open(self, optuna: Any, retry_callback: Any) -> Any:
        with warnings.catch_warnings():  # Optuna marks heartbeats and retries experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                self._url,
                engine_kwargs={"pool_pre_ping": True},
                heartbeat_interval=self._heartbeat_seconds,
                grace_period=self._grace_seconds,
                heartbeat_stale_trial_callback=retry_callback(max_retry=self._max_retry),
            )

    def save(self, data: Any) -> None:
        """The study is written by the search itself, never through the catalog."""
        raise DatasetError("the study storage is written by the search itself, not saved to")
