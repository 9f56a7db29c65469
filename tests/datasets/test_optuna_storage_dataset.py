"""The study's storage: created on first use, shared by workers that start at once."""

from __future__ import annotations

import optuna
import pytest
from kedro.io import DatasetError
from sqlalchemy.exc import IntegrityError

from mnist_pipeline.datasets import OptunaStorageDataset


def test_a_sqlite_file_is_created_with_its_folder(tmp_path):
    path = tmp_path / "tuning" / "optuna.db"
    storage = OptunaStorageDataset(url=f"sqlite:///{path}").load()
    optuna.create_study(storage=storage, study_name="s")
    assert path.is_file()


def test_a_worker_that_loses_the_race_to_create_the_tables_tries_again(monkeypatch):
    real = optuna.storages.RDBStorage
    calls = []

    def racing(url, **kwargs):
        calls.append(url)
        if len(calls) == 1:  # what PostgreSQL raises when another worker made the tables
            raise IntegrityError("CREATE TABLE studies", {}, Exception("duplicate key value"))
        return real(url, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", racing)
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    storage = OptunaStorageDataset(url="sqlite:///:memory:").load()
    assert len(calls) == 2 and storage is not None


def test_an_unreachable_storage_names_itself_without_its_password():
    dataset = OptunaStorageDataset(url="postgresql+psycopg://me:secret@127.0.0.1:9/optuna")
    with pytest.raises(
        DatasetError, match=r"me:\*\*\*@127\.0\.0\.1:9.*MNIST_TUNING_STORAGE"
    ) as caught:
        dataset.load()
    assert "secret" not in str(caught.value)
    assert type(caught.value.__cause__).__name__ == "StudyStorageError"
