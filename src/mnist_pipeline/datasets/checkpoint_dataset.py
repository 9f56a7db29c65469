"""A Kedro dataset for a TensorFlow checkpoint of named arrays (weights, EMA shadows, step).

The checkpoint is TensorFlow's own object-based format, so it can be read without this
package (``tf.train.load_checkpoint``), and its folder is what kedro-mlflow logs as an
artifact. TensorFlow is imported only when the dataset is actually used.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from kedro.io import AbstractDataset

from mnist_pipeline.errors import DataFileError

from .atomic import atomic_directory

_PREFIX = "ckpt"
_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_BOOKKEEPING = {"save_counter"}  # tf.train.Checkpoint's own variable, not one of ours


class TensorFlowCheckpointDataset(AbstractDataset[dict, dict]):
    """Saves a ``{name: array}`` mapping as a TF checkpoint folder and loads it back."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        """Create the dataset.

        Args:
            filepath: The checkpoint folder (replaced whole on every save).
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}

    def _exists(self) -> bool:
        return (Path(self._filepath) / "checkpoint").is_file()

    def save(self, data: dict[str, np.ndarray]) -> None:
        """Write every array as a variable of one checkpoint, atomically."""
        import tensorflow as tf  # noqa: PLC0415 (TensorFlow only when a checkpoint is used)

        variables = {
            name: tf.Variable(np.asarray(value), name=name) for name, value in data.items()
        }
        with atomic_directory(self._filepath) as tmp:
            manager = tf.train.CheckpointManager(
                tf.train.Checkpoint(**variables), str(tmp), max_to_keep=1, checkpoint_name=_PREFIX
            )
            manager.save()
            # The index file records absolute paths; rewrite it relative so the folder
            # stays valid after the atomic rename (and inside the MLflow artifact store).
            (tmp / "checkpoint").write_text(
                f'model_checkpoint_path: "{_PREFIX}-1"\nall_model_checkpoint_paths: "{_PREFIX}-1"\n'
            )

    def load(self) -> dict[str, np.ndarray]:
        """Read every variable back as ``{name: array}``."""
        import tensorflow as tf  # noqa: PLC0415

        folder = Path(self._filepath)
        prefix = tf.train.latest_checkpoint(str(folder)) if folder.is_dir() else None
        if prefix is None:
            raise DataFileError(
                f"No checkpoint in {self._filepath}: run `kedro run` (training) first."
            )
        try:
            reader = tf.train.load_checkpoint(prefix)
            return {
                key[: -len(_SUFFIX)]: reader.get_tensor(key)
                for key in reader.get_variable_to_shape_map()
                if key.endswith(_SUFFIX) and key[: -len(_SUFFIX)] not in _BOOKKEEPING
            }
        except Exception as exc:
            raise DataFileError(
                f"The checkpoint in {self._filepath} is damaged ({type(exc).__name__}); "
                "delete the folder and retrain with `kedro run`."
            ) from exc
