"""The notices the project drops as every command starts (``console.quiet_start``, which
the settings run): exactly the known ones."""

from __future__ import annotations

import logging
import os

import pytest
from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR

from mnist_pipeline.console import quiet_start
from mnist_pipeline.tracking.live_metrics import MlflowLiveMetricsDataset
from mnist_pipeline.tracking.run_tags import MlflowRunTagsDataset


@pytest.fixture
def quiet(monkeypatch):
    for name in ("py.warnings", "mlflow.pyfunc"):
        monkeypatch.setattr(logging.getLogger(name), "filters", [])
    environment = dict(os.environ)
    environment.pop(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name, None)
    monkeypatch.setattr(os, "environ", environment)
    quiet_start()


def _passes(logger: str, message: str) -> bool:
    record = logging.LogRecord(logger, logging.WARNING, __file__, 1, message, None, None)
    return bool(logging.getLogger(logger).filter(record))


def test_the_known_library_messages_are_dropped_and_others_kept(quiet):
    assert not _passes("py.warnings", "UserWarning: \x1b[33mAdd type hints to the `predict` method")
    assert not _passes("mlflow.pyfunc", "Passing a Python object as `python_model` causes ...")
    assert _passes("py.warnings", "UserWarning: something the user should read")
    assert _passes("mlflow.pyfunc", "Validating input example against model signature")


def test_mlflow_draws_no_download_progress_bar(quiet):
    assert MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.get() is False


def test_the_mlflow_datasets_answer_exists_without_kedros_warning(caplog):
    tags = MlflowRunTagsDataset()
    assert MlflowLiveMetricsDataset().exists() is True
    assert tags.exists() is False
    tags.save({"architecture": "mlp"})
    assert tags.exists() is True
    assert "not implemented" not in caplog.text
