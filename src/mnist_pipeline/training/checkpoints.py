"""What a resume checkpoint must match, and what training needs of the checkpoint folder.

The folder itself (TensorFlow checkpoints with JSON sidecars, kept where the catalog
says) is :class:`mnist_pipeline.datasets.ResumeCheckpoints`, which the catalog hands the
train node; training sees it through :class:`CheckpointFolder`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mnist_pipeline.parameters import TrainParameters

#: Settings that do not change the computation (the two implementations compute the same
#: step), so a run may resume across them.
_NOT_FINGERPRINTED = {"steps", "resume", "implementation"}


def training_fingerprint(config: TrainParameters, *arrays: np.ndarray) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the hyperparameters and the data."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str((array.shape, array.dtype.str)).encode())
        digest.update(np.ascontiguousarray(array).data)
    settings = {
        key: value for key, value in config.model_dump().items() if key not in _NOT_FINGERPRINTED
    }
    return {"settings": settings, "data_sha256": digest.hexdigest()}


class Resumed(Protocol):
    """Where an interrupted run left off."""

    step: int
    history: list[tuple]
    run_id: str | None


class CheckpointFolder(Protocol):
    """The resume checkpoints of one training run, as the training loop uses them."""

    directory: Path

    def restore(self, model: Any, fingerprint: dict, total_steps: int) -> Resumed | None:
        """Load the newest resumable checkpoint into ``model``; ``None`` to start afresh."""

    def save(self, model: Any, step: int, history: list[tuple], fingerprint: dict) -> str:
        """Checkpoint ``model`` at ``step`` with its history."""

    def set_aside(self, reason: str) -> Path:
        """Move the folder out of the way, saying why."""

    def clear(self) -> None:
        """Training completed: remove the folder."""
