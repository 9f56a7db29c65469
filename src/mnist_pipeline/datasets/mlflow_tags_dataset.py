"""Set tags on the active MLflow run from a node's output."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError


class MlflowTagsDataset(AbstractDataset[dict, dict]):
    """Saves a ``{name: value}`` mapping as tags of the active MLflow run (kedro-mlflow's)."""

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        """Create the dataset."""
        self.metadata = metadata
        self._last: dict[str, str] = {}

    def _describe(self) -> dict[str, Any]:
        return {}

    def _exists(self) -> bool:
        return bool(self._last)

    def load(self) -> dict:
        """The tags last saved in this session."""
        return dict(self._last)

    def save(self, data: dict) -> None:
        """Tag the active run; without one (tracking disabled) only remember the tags."""
        import mlflow  # noqa: PLC0415

        if not isinstance(data, dict):
            raise DatasetError(f"MlflowTagsDataset saves a dict of tags, got {type(data).__name__}")
        self._last = {str(key): str(value) for key, value in data.items()}
        if self._last and mlflow.active_run() is not None:
            mlflow.set_tags(self._last)
