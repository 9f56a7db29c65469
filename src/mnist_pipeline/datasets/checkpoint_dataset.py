"""A Kedro dataset for a TensorFlow checkpoint of named arrays (weights, averages, step).

The checkpoint is TensorFlow's own object-based format, so it can be read without this
package (``tf.train.load_checkpoint``), and its folder is what kedro-mlflow logs as an
artifact. TensorFlow is imported only when the dataset is actually used. The folder may be
on any fsspec filesystem (:mod:`.storage`; its ``checkpoint`` index marks it complete).
"""

from __future__ import annotations

import numpy as np

from mnist_pipeline.errors import DataFileError

from .storage import FileDataset

_PREFIX = "ckpt"
_INDEX = "checkpoint"  # TensorFlow's index file, written last: the folder is complete
_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_BOOKKEEPING = {"save_counter"}  # tf.train.Checkpoint's own variable, not one of ours


class TensorFlowCheckpointDataset(FileDataset):
    """Saves a ``{name: array}`` mapping as a TF checkpoint folder and loads it back.

    ``filepath`` is the folder, replaced whole on every save. Example catalog entry::

        final_checkpoint:
          type: mnist_pipeline.datasets.TensorFlowCheckpointDataset
          filepath: data/06_models/checkpoint
    """

    def _exists(self) -> bool:
        return self._location.child(_INDEX).is_file()

    def save(self, data: dict[str, np.ndarray]) -> None:
        """Write every array as a variable of one checkpoint, atomically."""
        import tensorflow as tf  # noqa: PLC0415 (TensorFlow only when a checkpoint is used)

        variables = {
            name: tf.Variable(np.asarray(value), name=name) for name, value in data.items()
        }
        with self._location.writing_folder(marker=_INDEX) as tmp:
            manager = tf.train.CheckpointManager(
                tf.train.Checkpoint(**variables), str(tmp), max_to_keep=1, checkpoint_name=_PREFIX
            )
            manager.save()
            # The index file records absolute paths; rewrite it relative so the folder
            # stays valid after the atomic rename (and inside the MLflow artifact store).
            (tmp / _INDEX).write_text(
                f'model_checkpoint_path: "{_PREFIX}-1"\nall_model_checkpoint_paths: "{_PREFIX}-1"\n'
            )

    def load(self) -> dict[str, np.ndarray]:
        """Read every variable back as ``{name: array}``."""
        import tensorflow as tf  # noqa: PLC0415

        if not self._exists():
            raise DataFileError(
                f"No checkpoint in {self._location}: run `kedro run` (training) first."
            )
        try:
            with self._location.local_folder() as folder:
                reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder)))
                return {
                    key[: -len(_SUFFIX)]: reader.get_tensor(key)
                    for key in reader.get_variable_to_shape_map()
                    if key.endswith(_SUFFIX) and key[: -len(_SUFFIX)] not in _BOOKKEEPING
                }
        except Exception as exc:
            raise DataFileError(
                f"The checkpoint in {self._location} is damaged ({type(exc).__name__}); "
                "delete the folder and retrain with `kedro run`."
            ) from exc
