"""The prediction log: one record per answered image, from every way of using the model.

The served model (under ``mlflow models serve``, each worker on its own), ``predict`` and
the drawing page all write through :class:`PredictionLog`. A record holds when, which
model (name, training run, registered version when the caller knows it), where the
request came from (``server``, ``predict``, ``page``), the answer (digit, probability,
digit-likeness, rejected) and the image's :data:`~.features.FEATURES`; the 28x28 image
itself only when ``keep_images`` is on.

Records are kept in memory and written ``flush_every`` at a time (or when the oldest has
waited ``flush_seconds``, and when the process ends) as one Parquet file each, written
whole (:class:`~mnist_pipeline.datasets.storage.Location`: a renamed temporary file on
disk, one object on an object store) and named by machine, process and sequence, so that
workers never write the same file and a reader never sees part of one. A ``kill -9``
loses at most the records not yet written: fewer than ``flush_every`` per process.

Logging never fails an answer: a log that cannot be written costs one warning line (per
failure, not per record) and the answer goes out; those records are dropped.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .features import FEATURES, feature_columns

logger = logging.getLogger(__name__)

#: Where each record came from.
SOURCES = ("server", "predict", "page")
#: The environment variable that, when set, points a served model's log elsewhere (any
#: fsspec URL) than the location it was trained with, e.g. a bucket a team shares; ``off``
#: turns the log off.
LOCATION_VARIABLE = "MNIST_PIPELINE_PREDICTION_LOG"
#: What a record takes from the model's answer table.
ANSWER_COLUMNS = ("digit", "probability", "digit_likeness", "rejected")
#: A record's columns, in order (``image`` too when images are kept).
RECORD_COLUMNS = [
    "time",
    "source",
    "model_name",
    "model_run_id",
    "model_version",
    "digit",
    "probability",
    "digit_likeness",
    "rejected",
    *FEATURES,
]


def prediction_records(
    images: np.ndarray,
    table: pd.DataFrame,
    *,
    source: str,
    model: Mapping[str, str],
    keep_images: bool = False,
    now: float | None = None,
) -> pd.DataFrame:
    """The log's records of one answer: ``images`` ((N, 28, 28), 0-255, as the network
    received them) and the model's prediction ``table`` for them (N rows; a rejected
    image has no digit). ``model`` holds ``name``, ``run_id`` and ``version`` (``""``
    when unknown)."""
    answer = _Answer.of(images, table, source, model, time.time() if now is None else now)
    return _records([answer], keep_images)


class _Answer(NamedTuple):
    """One answer as the request left it: what its records need, nothing computed yet (the
    features and the records are made per file, for all its answers at once)."""

    time: float
    source: str
    model: tuple[str, str, str]
    images: np.ndarray
    table: pd.DataFrame

    @classmethod
    def of(cls, images, table, source: str, model: Mapping[str, str], now: float) -> _Answer:
        identity = (model.get("name", ""), model.get("run_id", ""), model.get("version", ""))
        images = np.asarray(images).reshape(-1, 28, 28)
        if len(images) != len(table):
            raise ValueError(f"{len(images)} image(s) but {len(table)} answer(s)")
        missing = [column for column in ANSWER_COLUMNS if column not in table.columns]
        if missing:
            raise ValueError(f"the answer has no column {', '.join(missing)}")
        return cls(now, source, tuple(map(str, identity)), images, table)


def _record_columns(answers: list[_Answer], keep_images: bool) -> dict[str, np.ndarray]:
    """The records of ``answers`` as one array per column of :data:`RECORD_COLUMNS`, one
    row per image: ``time`` in seconds since the epoch, ``digit`` a float (NaN when
    rejected)."""
    counts = [len(answer.images) for answer in answers]
    images = np.concatenate([answer.images for answer in answers])
    table = pd.concat([answer.table for answer in answers], ignore_index=True)

    def per_image(values) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=object), counts)

    names, run_ids, versions = zip(*(answer.model for answer in answers), strict=True)
    columns = {
        "time": np.repeat(np.asarray([answer.time for answer in answers], np.float64), counts),
        "source": per_image([answer.source for answer in answers]),
        "model_name": per_image(names),
        "model_run_id": per_image(run_ids),
        "model_version": per_image(versions),
        "digit": table["digit"].to_numpy(dtype=np.float64, na_value=np.nan),
        "probability": table["probability"].to_numpy(dtype=np.float64),
        "digit_likeness": table["digit_likeness"].to_numpy(dtype=np.float64),
        "rejected": table["rejected"].to_numpy(dtype=bool),
        **feature_columns(images),
    }
    if keep_images:
        columns["image"] = np.asarray([np.asarray(i, np.uint8).tobytes() for i in images], object)
    return columns


def _records(answers: list[_Answer], keep_images: bool) -> pd.DataFrame:
    """The records of ``answers``, one row per image, in :data:`RECORD_COLUMNS`."""
    columns = _record_columns(answers, keep_images)
    columns["time"] = pd.to_datetime(columns["time"], unit="s", utc=True).as_unit("ns")
    columns["digit"] = pd.array(columns["digit"], dtype="Int64")
    return pd.DataFrame(columns, index=range(len(columns["digit"])))


def _parquet(columns: dict[str, np.ndarray]) -> bytes:
    """:func:`_record_columns` as one Parquet file, typed as :func:`_records` is (built
    with pyarrow directly: through a pandas table it took about twice as long)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    digit, seconds = columns["digit"], columns["time"]
    arrays = {
        **columns,
        "time": pa.array(np.round(seconds * 1e9).astype(np.int64), pa.timestamp("ns", "UTC")),
        "digit": pa.array(np.nan_to_num(digit).astype(np.int64), mask=np.isnan(digit)),
    }
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(arrays), sink)
    return sink.getvalue().to_pybytes()


class PredictionLog:
    """One process's writer of the prediction log at ``location`` (a folder: a local path
    or any fsspec URL)."""

    def __init__(
        self,
        location: str,
        flush_every: int = 64,
        flush_seconds: float = 10.0,
        keep_images: bool = False,
    ) -> None:
        """Nothing is written (or started) before the first record."""
        self.location = str(location)
        self.flush_every = int(flush_every)
        self.flush_seconds = float(flush_seconds)
        self.keep_images = bool(keep_images)
        self._lock = threading.Lock()
        self._pending: list[_Answer] = []
        self._pending_rows = 0
        self._oldest: float | None = None
        self._files = 0
        self._prefix = ""
        self._pid: int | None = None
        self._timer: threading.Thread | None = None
        self._folder = None
        self._answered: dict[str, int] = {}  # what the files written so far hold
        self._rejected: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PredictionLog | None:
        """The log ``settings`` describe (``parameters_monitoring.yml``'s
        ``prediction_log``), its location overridden by :data:`LOCATION_VARIABLE` when
        that is set; ``None`` when ``enabled`` is false or the variable is ``off``."""
        given = os.environ.get(LOCATION_VARIABLE, "")
        if not settings.get("enabled", True) or given == "off":
            return None
        key = (
            given or settings["location"],
            int(settings.get("flush_every", 64)),
            float(settings.get("flush_seconds", 10.0)),
            bool(settings.get("keep_images", False)),
        )
        with _SHARED_LOCK:  # the models a process loads (a page's champions) share one
            if key not in _SHARED:
                _SHARED[key] = cls(*key)
            return _SHARED[key]

    def record(
        self, images: np.ndarray, table: pd.DataFrame, source: str, model: Mapping[str, str]
    ) -> None:
        """Log the answer ``table`` for ``images``; never raises (a failure is a warning).

        The request keeps what the records need and goes on; every ``flush_every`` records
        the request that completes a file writes it, holding up this process's other
        answers until it is written, so that no answer has gone out while more than
        ``flush_every`` records of this process were unwritten."""
        try:
            answer = _Answer.of(images, table, source, model, time.time())
        except Exception as exc:  # noqa: BLE001 (logging never fails an answer)
            logger.warning("Prediction log: could not describe an answer (%s)", _first_line(exc))
            return
        with self._lock:
            self._start_in_this_process()
            self._pending.append(answer)
            self._pending_rows += len(answer.images)
            self._oldest = self._oldest or time.monotonic()
            if self._pending_rows >= self.flush_every:
                self._write_pending()

    @property
    def answered(self) -> dict[str, int]:
        """How many images this process has logged, per source (written or still held)."""
        return self._counts()[0]

    @property
    def rejected(self) -> dict[str, int]:
        """How many of :attr:`answered` were rejected as not a digit, per source."""
        return self._counts()[1]

    def flush(self) -> None:
        """Write the records held in memory now (one file); never raises."""
        with self._lock:
            self._write_pending()

    # ---------------------------------------------------------------- internals
    def _counts(self) -> tuple[dict[str, int], dict[str, int]]:
        with self._lock:
            answered, rejected = dict(self._answered), dict(self._rejected)
            for answer in self._pending:
                sources = np.full(len(answer.images), answer.source, dtype=object)
                _count(sources, answer.table["rejected"].to_numpy(bool), answered, rejected)
        return answered, rejected

    def _start_in_this_process(self) -> None:
        """Name this process's files and start its timer (again after a fork: a scoring
        server's workers each inherit the model, and each writes its own files)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._pending, self._pending_rows, self._oldest, self._files = [], 0, None, 0
        host = socket.gethostname().replace("-", "_")
        self._prefix = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{host}-{self._pid}"
        self._prefix += f"-{uuid.uuid4().hex[:8]}"
        self._timer = threading.Thread(target=self._flush_when_due, daemon=True)
        self._timer.start()
        atexit.register(self.flush)

    def _flush_when_due(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            time.sleep(min(1.0, self.flush_seconds))
            with self._lock:
                if self._oldest is not None and (
                    time.monotonic() - self._oldest >= self.flush_seconds
                ):
                    self._write_pending()

    def _write_pending(self) -> None:
        """Write the records held in memory as this process's next file and forget them,
        written or not (call with the lock held)."""
        if not self._pending:
            return
        answers, self._pending, self._pending_rows, self._oldest = self._pending, [], 0, None
        self._files += 1
        name = f"{self._prefix}-{self._files:06d}.parquet"
        try:
            from mnist_pipeline.datasets.storage import Location  # noqa: PLC0415

            if self._folder is None:
                self._folder = Location(self.location)
            columns = _record_columns(answers, self.keep_images)
            _count(columns["source"], columns["rejected"], self._answered, self._rejected)
            self._folder.child(name).write_bytes(_parquet(columns))
        except Exception as exc:  # noqa: BLE001 (logging never fails an answer)
            logger.warning(
                "Prediction log: %d record(s) could not be written to %s (%s); the answers "
                "went out. Check that the folder (prediction_log.location in "
                "parameters_monitoring.yml, or %s) is writable.",
                sum(len(answer.images) for answer in answers),
                self.location,
                _first_line(exc),
                LOCATION_VARIABLE,
            )


#: The writers of this process, by their settings (:meth:`PredictionLog.from_settings`).
_SHARED: dict[tuple, PredictionLog] = {}
_SHARED_LOCK = threading.Lock()


def read_prediction_log(location: str) -> pd.DataFrame:
    """Every record of the log at ``location``, oldest first (no rows when there is
    none). A file that cannot be read is skipped with a warning naming it."""
    from mnist_pipeline.datasets.storage import Location  # noqa: PLC0415

    folder = Location(location)
    if not folder.is_dir():
        return pd.DataFrame(columns=RECORD_COLUMNS)
    tables = []
    for path in sorted(folder.fs.glob(f"{str(folder.path).rstrip('/')}/*.parquet")):
        try:
            with folder.fs.open(path, "rb") as handle:
                tables.append(pd.read_parquet(handle))
        except Exception as exc:  # noqa: BLE001 (one bad file does not hide the others)
            logger.warning("Prediction log: skipped %s, which cannot be read (%s)", path, exc)
    if not tables:
        return pd.DataFrame(columns=RECORD_COLUMNS)
    records = pd.concat(tables, ignore_index=True)
    # The files carry no pandas types: digit reads as int64, or float64 where one is missing.
    records["digit"] = records["digit"].astype("Int64")
    return records.sort_values("time", kind="stable")


def _count(
    sources: np.ndarray,
    turned_away: np.ndarray,
    answered: dict[str, int],
    rejected: dict[str, int],
) -> None:
    """Add records (their ``sources`` and whether each was ``turned_away``) to the counts
    by source."""
    for source in set(sources.tolist()):
        mine = sources == source
        answered[source] = answered.get(source, 0) + int(np.count_nonzero(mine))
        rejected[source] = rejected.get(source, 0) + int(np.count_nonzero(mine & turned_away))


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"[:200]
