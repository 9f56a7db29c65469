"""The folder of periodic training checkpoints, handed to the train node as an object.

Training must write checkpoints *while* it runs (a node's outputs are saved only when it
returns), so the catalog gives the node a handle on the folder instead of data
(:class:`ResumeCheckpoints`): where it is and how many to keep stay configuration, and
the node never builds a path itself.

The folder holds TensorFlow checkpoints of the network's variables, their moving
averages and the global step, the last few kept, each with a JSON sidecar: the run's
fingerprint (hyperparameters and a hash of the data), the validation history so far and
the MLflow run that wrote it. A checkpoint is resumed only when its fingerprint matches;
otherwise the folder is set aside (renamed, never deleted) and training starts afresh.
When training completes the folder is removed: it exists only while a run is in progress
or was interrupted. It may be on any fsspec filesystem: then training works in a local
copy that is uploaded after every checkpoint, so a task retried on another machine
resumes where the last one stopped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from kedro.io import DatasetError

from .storage import FileDataset, Location

logger = logging.getLogger(__name__)

_PREFIX = "ckpt"
_TF_INDEX = "checkpoint"  # TensorFlow's index of the checkpoints in a folder


def _differences(saved: dict, current: dict) -> list[str]:
    changes = [
        f"train.{key}: {saved['settings'].get(key)!r} -> {value!r}"
        for key, value in current["settings"].items()
        if saved["settings"].get(key) != value
    ]
    if saved.get("data_sha256") != current["data_sha256"]:
        changes.append("the training or validation data changed")
    return changes


@dataclasses.dataclass
class Resumed:
    """Where an interrupted run left off."""

    step: int
    history: list[tuple]
    run_id: str | None
    path: str


class ResumeCheckpoints:
    """The checkpoint folder of one training run (what the catalog hands the train node)."""

    def __init__(
        self,
        directory: str | Path,
        max_to_keep: int = 3,
        run_id: str | None = None,
        mirror: Location | None = None,
    ):
        """Use ``directory``, keeping the last ``max_to_keep`` checkpoints; ``run_id`` is the
        MLflow run writing them (recorded so a resuming run can name it).

        With a ``mirror`` (a folder on an object store, say), ``directory`` is a local
        working copy of it: every checkpoint is uploaded as soon as it is written, its
        sidecar and TensorFlow's index last, so the mirror's newest complete checkpoint
        is always one a retried task on another machine can resume from.
        """
        self.directory = Path(directory)
        self.max_to_keep = max_to_keep
        self.run_id = run_id
        self.mirror = mirror
        self._manager = None

    def __repr__(self) -> str:
        return f"ResumeCheckpoints({str(self.directory)!r}, max_to_keep={self.max_to_keep})"

    # ---------------------------------------------------------------- internals
    def _tf_manager(self, model):
        import tensorflow as tf  # noqa: PLC0415

        if self._manager is None:
            self._checkpoint = tf.train.Checkpoint(model=model)
            self._manager = tf.train.CheckpointManager(
                self._checkpoint, str(self.directory), self.max_to_keep, checkpoint_name=_PREFIX
            )
        return self._manager

    @staticmethod
    def _sidecar(prefix: str) -> Path:
        return Path(f"{prefix}.json")

    def set_aside(self, reason: str) -> Path:
        """Rename the folder out of the way (kept for inspection) and say why."""
        target = self.directory.with_name(
            f"{self.directory.name}.set-aside-{time.strftime('%Y%m%dT%H%M%S')}"
        )
        self.directory.rename(target)
        if self.mirror is not None:
            self.mirror.move_to(self.mirror.sibling(target.name))
        self._manager = None
        logger.warning(
            "Not resuming from the checkpoints in %s: %s. Moved them to %s; "
            "training starts afresh.",
            self.directory,
            reason,
            target,
        )
        return target

    # ---------------------------------------------------------------- API
    def restore(self, model, fingerprint: dict, total_steps: int) -> Resumed | None:
        """Load the newest resumable checkpoint into ``model``; ``None`` to start afresh."""
        if not self.directory.is_dir():
            return None
        import tensorflow as tf  # noqa: PLC0415

        prefixes = [
            p
            for p in tf.train.CheckpointManager(
                tf.train.Checkpoint(),
                str(self.directory),
                self.max_to_keep,
                checkpoint_name=_PREFIX,
            ).checkpoints
            if self._sidecar(p).is_file()
        ]
        if not prefixes:
            self.set_aside("no complete checkpoint in it")
            return None
        prefix = prefixes[-1]
        meta = json.loads(self._sidecar(prefix).read_text())
        changes = _differences(meta["fingerprint"], fingerprint)
        if changes:
            self.set_aside("it was made with other settings (" + "; ".join(changes) + ")")
            return None
        if meta["step"] > total_steps:
            self.set_aside(f"it is at step {meta['step']}, beyond train.steps={total_steps}")
            return None
        try:
            tf.train.Checkpoint(model=model).read(prefix).assert_existing_objects_matched()
        except Exception as exc:  # noqa: BLE001 (TF raises many types for a damaged file)
            self.set_aside(f"{prefix} cannot be read ({type(exc).__name__})")
            return None
        logger.info(
            "Resuming training from step %d (checkpoint %s, MLflow run %s); "
            "pass --params=train.resume=false to start afresh.",
            meta["step"],
            prefix,
            meta.get("run_id"),
        )
        return Resumed(
            meta["step"], [tuple(row) for row in meta["history"]], meta.get("run_id"), prefix
        )

    def save(self, model, step: int, history: list[tuple], fingerprint: dict) -> str:
        """Checkpoint ``model`` at ``step`` with its history; return the checkpoint prefix.

        TensorFlow writes the checkpoint files under temporary names and updates its index
        last; the sidecar, written atomically after both, marks the checkpoint complete.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        prefix = self._tf_manager(model).save(checkpoint_number=step)
        meta = {"step": step, "history": history, "fingerprint": fingerprint, "run_id": self.run_id}
        Location(str(self._sidecar(prefix))).write_bytes(json.dumps(meta).encode())
        kept = {self._sidecar(p) for p in self._manager.checkpoints}
        for stale in self.directory.glob(f"{_PREFIX}-*.json"):
            if stale not in kept:
                stale.unlink(missing_ok=True)
        if self.mirror is not None:
            self.mirror.publish_folder(self.directory, last=[self._sidecar(prefix).name, _TF_INDEX])
        return prefix

    def clear(self) -> None:
        """Training completed: the periodic checkpoints are no longer needed."""
        self._manager = None
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.mirror is not None:
            self.mirror.remove()


class ResumeCheckpointsDataset(FileDataset):
    """``load`` returns a :class:`ResumeCheckpoints` on the folder."""

    def __init__(self, directory: str, max_to_keep: int = 3, **file_args: Any) -> None:
        """``directory`` (created when the first checkpoint is saved) and ``file_args`` as
        :class:`.storage.FileDataset`; ``max_to_keep`` of the newest checkpoints are kept."""
        super().__init__(directory, **file_args)
        self._max_to_keep = int(max_to_keep)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "max_to_keep": self._max_to_keep}

    def _exists(self) -> bool:
        return self._location.is_dir()

    def load(self) -> Any:
        """A handle on the folder, naming the active MLflow run as the writer."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        run = mlflow.active_run()
        run_id = run.info.run_id if run else None
        if self._location.is_local:
            return ResumeCheckpoints(self._location.path, self._max_to_keep, run_id=run_id)
        working_copy = tempfile.mkdtemp(prefix="resume_checkpoints.")
        if self._location.is_dir():
            self._location.download_folder(Path(working_copy))
        return ResumeCheckpoints(
            working_copy, self._max_to_keep, run_id=run_id, mirror=self._location
        )

    def save(self, data: Any) -> None:
        """Checkpoints are written by training itself, never through the catalog."""
        raise DatasetError(f"{self._location} is written by training itself, not saved to")
