"""kedro-datasets' ``tensorflow.TensorFlowModelDataset``, saving whole-or-nothing.

The parent saves to a temporary folder and then *copies* the file to its path, so an
interrupted copy leaves a truncated ``.keras`` file that ``load`` would then read. This
subclass saves beside the target and renames it into place. Importing this module
imports TensorFlow; the catalog names it by its full path so that nothing else pays for it.
"""

from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from kedro_datasets.tensorflow import TensorFlowModelDataset

from mnist_pipeline.errors import DataFileError

from .atomic import atomic_file


class AtomicTensorFlowModelDataset(TensorFlowModelDataset):
    """``tensorflow.TensorFlowModelDataset`` (``.keras`` files) whose saves are atomic."""

    def save(self, data: tf.keras.Model) -> None:
        """Save the model beside its target, then rename it into place."""
        target = Path(self._get_save_path())
        with atomic_file(target, suffix=f".partial{target.suffix}") as tmp:
            tf.keras.models.save_model(data, str(tmp), **self._save_args)

    def load(self) -> tf.keras.Model:
        """Load the model; a damaged file gives a clear message. Deep copies share it."""
        path = self._get_load_path()
        try:
            model = super().load()
        except Exception as exc:  # noqa: BLE001 (Keras raises many types for a bad file)
            raise DataFileError(
                f"The model file {path} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}). Retrain it with `kedro run`; every "
                "trained model is also kept in MLflow's registry as mnist_mlp."
            ) from exc
        # A loaded model is only ever read, so copies may share it: kedro-mlflow's served
        # model deep-copies its catalog (this model included) for every request.
        model.__deepcopy__ = lambda memo: model
        return model
