"""A Keras model in one ``.keras`` file, saved whole-or-nothing, TensorFlow loaded on use.

kedro-datasets' ``tensorflow.TensorFlowModelDataset`` imports TensorFlow when its module
is imported, and kedro-mlflow builds every catalog entry when the catalog is created, so
with it even ``kedro run --pipeline=ingest`` paid seconds for a TensorFlow it never used;
it also saved to a temporary folder and *copied* the file into place, so an interrupted
copy left a truncated model behind. This dataset imports TensorFlow only in ``load`` and
``save``, and saves whole or not at all, on a local disk or any fsspec filesystem
(:mod:`.storage`).
"""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset

from mnist_pipeline.errors import DataFileError

from .storage import OnFilesystem


class KerasModelDataset(OnFilesystem, AbstractDataset[Any, Any]):
    """A ``.keras`` file: ``load`` gives the model (read-only, shared by deep copies)."""

    def __init__(
        self,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            filepath: The ``.keras`` file, a local path or an fsspec URL.
            load_args: Passed to ``keras.models.load_model`` (e.g. ``safe_mode``, ``compile``).
            save_args: Passed to ``keras.models.save_model``.
            credentials: Passed to the fsspec filesystem (e.g. keys for ``s3://``).
            fs_args: Other arguments of the fsspec filesystem.
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._set_location(filepath, credentials, fs_args)
        self._load_args = dict(load_args or {})
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._location), "load_args": self._load_args}

    def _exists(self) -> bool:
        return self._location.is_file()

    def save(self, data: Any) -> None:
        """Save the model whole or not at all."""
        import tensorflow as tf  # noqa: PLC0415 (only when a model is saved)

        with self._location.writing(suffix=".partial.keras") as tmp:
            tf.keras.models.save_model(data, str(tmp), **self._save_args)

    def load(self) -> Any:
        """Load the model; a damaged file gives a clear message. Deep copies share it."""
        import tensorflow as tf  # noqa: PLC0415 (only when a model is loaded)

        try:
            with self._location.local_file(suffix=".keras") as path:
                model = tf.keras.models.load_model(str(path), **self._load_args)
        except Exception as exc:
            raise DataFileError(
                f"The model file {self._location} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}). Retrain it with "
                "`kedro run`; every trained model is also kept in MLflow's registry as mnist_mlp."
            ) from exc
        # A loaded model is only ever read, so copies may share it: kedro-mlflow's served
        # model deep-copies its catalog (this model included) for every request.
        model.__deepcopy__ = lambda memo: model
        return model
