"""A Keras model in one ``.keras`` file, saved whole-or-nothing, TensorFlow loaded on use.

kedro-datasets' ``tensorflow.TensorFlowModelDataset`` imports TensorFlow with its module
(every ``kedro`` command would pay for it) and copies the saved file into place, so an
interrupted copy leaves a truncated model. This dataset imports TensorFlow only in
``load`` and ``save``, and saves whole or not at all (:mod:`.storage`).
"""

from __future__ import annotations

from typing import Any

from mnist_pipeline.errors import DataFileError

from .storage import FileDataset


class KerasModelDataset(FileDataset):
    """A ``.keras`` file: ``load`` gives the model (read-only, shared by deep copies).

    Example catalog entry::

        mnist_model:
          type: mnist_pipeline.datasets.KerasModelDataset
          filepath: data/06_models/mnist_model.keras
          load_args: {safe_mode: true, compile: false}
    """

    def __init__(self, filepath: str, load_args: dict | None = None, **file_args: Any) -> None:
        """``filepath`` and ``file_args`` as :class:`.storage.FileDataset`; ``load_args``
        go to ``keras.models.load_model`` (e.g. ``safe_mode``, ``compile``)."""
        super().__init__(filepath, **file_args)
        self._load_args = dict(load_args or {})

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "load_args": self._load_args}

    def save(self, data: Any) -> None:
        """Save the model whole or not at all."""
        import tensorflow as tf  # noqa: PLC0415 (only when a model is saved)

        with self._location.writing(suffix=".partial.keras") as tmp:
            tf.keras.models.save_model(data, str(tmp))

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
                "`kedro run`; every trained model is also kept in MLflow's registry."
            ) from exc
        # A loaded model is only ever read, so copies may share it: kedro-mlflow's served
        # model deep-copies its catalog (this model included) for every request.
        model.__deepcopy__ = lambda memo: model
        return model
