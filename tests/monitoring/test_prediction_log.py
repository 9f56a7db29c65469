"""The prediction log: records written whole, in files of a bounded size, by any number of
processes; what a killed process had not written is all it loses; it never fails an answer."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mnist_pipeline.monitoring.features import FEATURES, image_features
from mnist_pipeline.monitoring.prediction_log import (
    LOCATION_VARIABLE,
    RECORD_COLUMNS,
    PredictionLog,
    prediction_records,
    read_prediction_log,
)

MODEL = {"name": "mnist_classifier", "run_id": "run-1", "version": "3"}


def _answer(count: int, first: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Images ``first``, ``first + 1``, ...: image n has n + 1 pixels of ink (so each is
    told apart by its ink mass) and its first three pixels spell n (with the images
    kept); the table answers the digit n % 10 and rejects every 4th image."""
    numbers = range(first, first + count)
    images = np.zeros((count, 28, 28), np.uint8)
    for image, n in zip(images, numbers, strict=True):
        image.flat[: min(n + 1, 784)] = 255
        image.flat[:3] = (n % 256, n // 256 % 256, n // 65536)
    table = pd.DataFrame(
        {
            "digit": [None if n % 4 == 3 else n % 10 for n in numbers],
            "probability": np.linspace(0.5, 1.0, count),
            "digit_likeness": np.linspace(-1, 5, count),
            "rejected": [n % 4 == 3 for n in numbers],
        }
    )
    return images, table


def _number(image: bytes) -> int:
    """The number :func:`_answer` spelled in a kept image."""
    first = np.frombuffer(image, np.uint8)[:3].astype(int)
    return int(first[0] + 256 * first[1] + 65536 * first[2])


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_records_hold_the_answer_the_model_and_the_features():
    images, table = _answer(4)
    records = prediction_records(images, table, source="predict", model=MODEL, now=0.0)
    assert list(records.columns) == RECORD_COLUMNS
    assert records["digit"].tolist()[:3] == [0, 1, 2] and pd.isna(records["digit"][3])
    assert records["rejected"].tolist() == [False, False, False, True]
    assert set(records["source"]) == {"predict"} and set(records["model_version"]) == {"3"}
    pd.testing.assert_frame_equal(records[FEATURES], image_features(images))
    assert str(records["time"][0]) == "1970-01-01 00:00:00+00:00"
    kept = prediction_records(images, table, source="page", model=MODEL, keep_images=True)
    assert [_number(image) for image in kept["image"]] == [0, 1, 2, 3]


def test_records_are_written_in_files_of_flush_every_and_read_back_once(tmp_path):
    log = PredictionLog(str(tmp_path), flush_every=5, flush_seconds=3600, keep_images=True)
    for start in range(0, 12, 3):  # four answers of 3 images: files at 6 and 12 records
        log.record(*_answer(3, start), "server", MODEL)
    files = sorted(tmp_path.glob("*.parquet"))
    assert [len(pd.read_parquet(f)) for f in files] == [6, 6]
    assert not list(tmp_path.glob(".*"))  # no temporary file left beside them
    log.record(*_answer(1, 100), "page", MODEL)
    assert log.answered == {"server": 12, "page": 1}  # a record held counts too
    log.flush()
    records = read_prediction_log(str(tmp_path))
    assert [_number(image) for image in records["image"]] == [*range(12), 100]
    assert records["source"].tolist() == ["server"] * 12 + ["page"]
    assert (log.answered, log.rejected) == ({"server": 12, "page": 1}, {"server": 3, "page": 0})


def test_a_file_reads_back_as_the_records_of_its_answers(tmp_path):
    """The files are written with pyarrow directly; read back, they are the table that
    prediction_records makes (columns, types, values, a rejected answer's missing digit)."""
    log = PredictionLog(str(tmp_path), flush_every=100, flush_seconds=3600, keep_images=True)
    images, table = _answer(6)
    log.record(images, table, "page", MODEL)
    log.flush()
    written = read_prediction_log(str(tmp_path)).reset_index(drop=True)
    expected = prediction_records(
        images, table, source="page", model=MODEL, keep_images=True, now=0.0
    )
    assert (written["time"] - pd.Timestamp.now(tz="UTC")).abs().max() < pd.Timedelta("1min")
    pd.testing.assert_frame_equal(written.drop(columns="time"), expected.drop(columns="time"))
    assert written["time"].dtype == expected["time"].dtype


def test_a_record_waits_at_most_flush_seconds(tmp_path):
    log = PredictionLog(str(tmp_path), flush_every=1000, flush_seconds=0.2)
    log.record(*_answer(2), "server", MODEL)
    _wait_for(lambda: list(tmp_path.glob("*.parquet")))
    assert len(read_prediction_log(str(tmp_path))) == 2


def test_the_environment_variable_points_the_log_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv(LOCATION_VARIABLE, str(tmp_path / "shared"))
    settings = {"enabled": True, "location": str(tmp_path / "own"), "flush_every": 1}
    log = PredictionLog.from_settings({**settings, "flush_seconds": 1.0, "keep_images": True})
    assert log.location == str(tmp_path / "shared")
    assert PredictionLog.from_settings({**settings, "enabled": False}) is None
    monkeypatch.setenv(LOCATION_VARIABLE, "off")
    assert PredictionLog.from_settings({**settings, "flush_seconds": 1.0}) is None


def test_a_log_that_cannot_be_written_is_one_warning_and_the_answer_goes_on(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    log = PredictionLog(str(blocker / "log"), flush_every=2, flush_seconds=3600)
    with caplog.at_level(logging.WARNING):
        log.record(*_answer(2), "server", MODEL)  # does not raise
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2 record(s) could not be written" in warnings[0] and str(blocker) in warnings[0]
    assert "prediction_log.location" in warnings[0]


def test_an_answer_that_cannot_be_described_is_one_warning_and_the_others_are_kept(
    tmp_path, caplog
):
    log = PredictionLog(str(tmp_path), flush_every=100, flush_seconds=3600)
    log.record(*_answer(2), "server", MODEL)
    images, table = _answer(1, 2)
    with caplog.at_level(logging.WARNING):
        log.record(images, table.drop(columns="rejected"), "server", MODEL)  # does not raise
        log.record(images[:0], table, "server", MODEL)  # one answer, no image
    log.flush()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("could not describe an answer" in w for w in warnings)
    assert "no column rejected" in warnings[0] and "0 image(s) but 1 answer(s)" in warnings[1]
    assert len(read_prediction_log(str(tmp_path))) == 2


def test_an_unreadable_file_is_skipped_with_a_warning(tmp_path, caplog):
    log = PredictionLog(str(tmp_path), flush_every=2)
    log.record(*_answer(2), "server", MODEL)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with caplog.at_level(logging.WARNING):
        records = read_prediction_log(str(tmp_path))
    assert len(records) == 2
    assert "broken.parquet" in caplog.text
    assert read_prediction_log(str(tmp_path / "nothing-yet")).empty


def _write_forever(folder: str, start: int, flush_every: int, written) -> None:
    """A worker: answers of one image each, counting in ``written`` what it sent."""
    log = PredictionLog(folder, flush_every=flush_every, flush_seconds=3600, keep_images=True)
    for i in range(10**6):
        log.record(*_answer(1, start + i), "server", MODEL)
        written.value = i + 1


def test_workers_write_their_own_files_and_a_kill_loses_at_most_one_batch(tmp_path):
    context = multiprocessing.get_context("spawn")
    flush_every, starts = 7, (0, 500_000)
    counters = [context.Value("q", 0) for _ in starts]
    workers = [
        context.Process(target=_write_forever, args=(str(tmp_path), s, flush_every, c))
        for s, c in zip(starts, counters, strict=True)
    ]
    for worker in workers:
        worker.start()
    _wait_for(lambda: all(c.value > 50 for c in counters), timeout=60)
    for worker in workers:
        os.kill(worker.pid, signal.SIGKILL)
        worker.join()
    records = read_prediction_log(str(tmp_path))  # every file readable: none skipped
    assert len(records) == sum(len(pd.read_parquet(f)) for f in Path(tmp_path).glob("*.parquet"))
    numbers = pd.Series([_number(image) for image in records["image"]])
    for start, counter in zip(starts, counters, strict=True):
        mine = numbers[(numbers >= start) & (numbers < start + 400_000)] - start
        # each answered image once, from the first on, with at most one batch unwritten
        assert mine.is_unique and sorted(mine) == list(range(len(mine)))
        # The counter follows each record: the kill may land between a record's write
        # and its count, so one more than counted may be in the log.
        assert counter.value - flush_every < len(mine) <= counter.value + 1
    assert len({f.name.rsplit("-", 1)[0] for f in tmp_path.glob("*.parquet")}) == 2


def test_no_answer_goes_out_while_more_than_flush_every_records_are_unwritten(
    tmp_path, monkeypatch
):
    """While one request writes a file, another request's record waits for it: otherwise
    its answer would go out with the file's records and its own both unwritten, and a
    kill at that moment would lose more than one file's worth (a CI run saw 66 lost
    records where 2 workers x 32 were allowed)."""
    import threading

    from mnist_pipeline.datasets.storage import Location

    writing, release = threading.Event(), threading.Event()
    write_bytes = Location.write_bytes

    def slow_write(self, data: bytes) -> None:
        writing.set()
        assert release.wait(30)
        write_bytes(self, data)

    monkeypatch.setattr(Location, "write_bytes", slow_write)
    log = PredictionLog(str(tmp_path), flush_every=2, flush_seconds=3600)
    log.record(*_answer(1, 0), "server", MODEL)
    writer = threading.Thread(target=log.record, args=(*_answer(1, 1), "server", MODEL))
    writer.start()
    assert writing.wait(30)  # the second record's request is writing the file
    other = threading.Thread(target=log.record, args=(*_answer(1, 2), "server", MODEL))
    other.start()
    other.join(timeout=0.5)
    assert other.is_alive()  # its answer waits ...
    release.set()
    writer.join(timeout=30)
    other.join(timeout=30)  # ... until the file is written
    assert not other.is_alive() and len(read_prediction_log(str(tmp_path))) == 2


@pytest.mark.parametrize("keep_images", [False, True])
def test_keeping_images_is_a_setting(tmp_path, keep_images):
    log = PredictionLog(str(tmp_path), flush_every=1, keep_images=keep_images)
    log.record(*_answer(1), "server", MODEL)
    assert ("image" in read_prediction_log(str(tmp_path))) is keep_images
