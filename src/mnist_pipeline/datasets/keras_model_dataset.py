"""A Keras model in one ``.keras`` file, saved whole-or-nothing, TensorFlow loaded on use.

kedro-datasets' ``tensorflow.TensorFlowModelDataset`` imports TensorFlow when its module
is imported, and kedro-mlflow builds every catalog entry when the catalog is created, so
with it even ``kedro run --pipeline=ingest`` paid seconds for a TensorFlow it never used;
it also saved to a temporary folder and *copied* the file into place, so an interrupted
copy left a truncated model behind. This dataset imports TensorFlow only in ``load`` and
``save``, and saves beside the target, then renames the file into place.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset

from mnist_pipeline.errors import DataFileError

from .atomic import atomic_file


class KerasModelDataset(AbstractDataset[Any, Any]):
    """A ``.keras`` file: ``load`` gives the model (read-only, shared by deep copies)."""

    def __init__(
        self,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            filepath: The ``.keras`` file.
            load_args: Passed to ``keras.models.load_model`` (e.g. ``safe_mode``, ``compile``).
            save_args: Passed to ``keras.models.save_model``.
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._filepath = PurePosixPath(filepath)
        self._load_args = dict(load_args or {})
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "load_args": self._load_args}

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def save(self, data: Any) -> None:
        """Save the model beside its target, then rename it into place."""
        import tensorflow as tf  # noqa: PLC0415 (only when a model is saved)

        with atomic_file(Path(self._filepath), suffix=".partial.keras") as tmp:
            tf.keras.models.save_model(data, str(tmp), **self._save_args)

    def load(self) -> Any:
        """Load the model; a damaged file gives a clear message. Deep copies share it."""
        import tensorflow as tf  # noqa: PLC0415 (only when a model is loaded)

        try:
            model = tf.keras.models.load_model(str(self._filepath), **self._load_args)
        except Exception as exc:
            raise DataFileError(
                f"The model file {self._filepath} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}). Retrain it with "
                "`kedro run`; every trained model is also kept in MLflow's registry as mnist_mlp."
            ) from exc
        # A loaded model is only ever read, so copies may share it: kedro-mlflow's served
        # model deep-copies its catalog (this model included) for every request.
        model.__deepcopy__ = lambda memo: model
        return model
