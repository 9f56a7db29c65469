"""The folder of periodic training checkpoints, handed to the train node as an object.

Training must write checkpoints *while* it runs (a node's outputs are saved only when it
returns), so the catalog gives the node a handle on the folder instead of data: where it
is and how many to keep stay configuration, and the node never builds a path itself.

The folder may be on any fsspec filesystem: then training works in a local copy that is
uploaded after every checkpoint (:class:`~mnist_pipeline.training.checkpoints.ResumeCheckpoints`),
so a task retried on another machine resumes where the last one stopped.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from .storage import Location


class ResumeCheckpointsDataset(AbstractDataset[None, Any]):
    """``load`` returns a :class:`~mnist_pipeline.training.checkpoints.ResumeCheckpoints`."""

    def __init__(
        self,
        directory: str,
        max_to_keep: int = 3,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            directory: The checkpoint folder (created when the first checkpoint is saved),
                a local path or an fsspec URL.
            max_to_keep: How many of the newest checkpoints to keep.
            credentials: Passed to the fsspec filesystem (e.g. keys for ``s3://``).
            fs_args: Other arguments of the fsspec filesystem.
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._directory = Location(directory, credentials, fs_args)
        self._max_to_keep = int(max_to_keep)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"directory": str(self._directory), "max_to_keep": self._max_to_keep}

    def _exists(self) -> bool:
        return self._directory.is_dir()

    def load(self) -> Any:
        """A handle on the folder, naming the active MLflow run as the writer."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        from mnist_pipeline.training.checkpoints import ResumeCheckpoints  # noqa: PLC0415

        run = mlflow.active_run()
        run_id = run.info.run_id if run else None
        if self._directory.is_local:
            return ResumeCheckpoints(self._directory.path, self._max_to_keep, run_id=run_id)
        working_copy = tempfile.mkdtemp(prefix="resume_checkpoints.")
        if self._directory.is_dir():
            self._directory.download_folder(Path(working_copy))
        return ResumeCheckpoints(
            working_copy, self._max_to_keep, run_id=run_id, mirror=self._directory
        )

    def save(self, data: Any) -> None:
        """Checkpoints are written by training itself, never through the catalog."""
        raise DatasetError(f"{self._directory} is written by training itself, not saved to")
