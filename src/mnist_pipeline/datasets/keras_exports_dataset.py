"""A trained model's portable exports, one folder: TF SavedModel, ONNX and LiteRT.

Each is made by Keras' own ``model.export(path, format=...)`` (SavedModel for TF
Serving; ONNX through tf2onnx, for onnxruntime; LiteRT, ``.tflite``, for phones and
microcontrollers) from the model it is given: the one that takes 28x28 pixel values
0-255 and returns the 10 probabilities. The folder is written whole or not at all, with
``manifest.json`` naming each file, its size and the seconds its conversion took.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import warnings
from collections.abc import Iterator
from typing import Any

from mnist_pipeline.console import EXPORT_LOG, stderr_without
from mnist_pipeline.errors import DataFileError

from .storage import FileDataset

#: ``format`` of ``keras.Model.export`` -> the name of its export in the folder.
EXPORTS = {"tf_saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}
MANIFEST = "manifest.json"


@contextlib.contextmanager
def _export_notices_dropped() -> Iterator[None]:
    """Drop the notices of the exporters a user can do nothing about: Keras' tf2onnx shim
    touching ``np.object``, TensorFlow's SavedModel writer meeting the TF1 collection of
    moving averages that training's ``ExponentialMovingAverage`` filled (not part of the
    exported model), and the C++ log lines of TensorFlow's graph optimiser and LiteRT
    converter (:data:`~mnist_pipeline.console.EXPORT_LOG`: an error line still shows)."""
    tensorflow_logger = logging.getLogger("tensorflow")

    def not_the_collection(record: logging.LogRecord) -> bool:
        return "serializing moving_average_variables" not in record.getMessage()

    tensorflow_logger.addFilter(not_the_collection)
    try:
        with warnings.catch_warnings(), stderr_without(EXPORT_LOG):
            warnings.filterwarnings("ignore", message=".*np.object", category=FutureWarning)
            yield
    finally:
        tensorflow_logger.removeFilter(not_the_collection)


class KerasExportsDataset(FileDataset):
    """Saves ``{"model": keras_model, "formats": [...]}`` as exports; loads the manifest.

    Example catalog entry::

        model_exports:
          type: mnist_pipeline.datasets.KerasExportsDataset
          filepath: data/06_models/exports
    """

    def _exists(self) -> bool:
        return self._location.child(MANIFEST).is_file()

    def save(self, data: dict[str, Any]) -> None:
        """Export the model in each of ``formats`` (keys of :data:`EXPORTS`), atomically."""
        unknown = sorted(set(data["formats"]) - set(EXPORTS))
        if unknown:
            raise DataFileError(f"Unknown export format(s) {unknown}; known: {sorted(EXPORTS)}")
        manifest = {}
        with self._location.writing_folder(marker=MANIFEST) as folder, _export_notices_dropped():
            for export_format in data["formats"]:
                start = time.perf_counter()
                target = folder / EXPORTS[export_format]
                data["model"].export(str(target), format=export_format, verbose=False)
                size = (
                    sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
                    if target.is_dir()
                    else target.stat().st_size
                )
                manifest[export_format] = {
                    "path": EXPORTS[export_format],
                    "bytes": size,
                    "seconds": round(time.perf_counter() - start, 2),
                }
            (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))

    def load(self) -> dict[str, Any]:
        """The manifest: for each export, its file (under the folder), size and seconds."""
        if not self._exists():
            raise DataFileError(f"No exports in {self._location}: run `kedro run` first.")
        return json.loads(self._location.child(MANIFEST).read_bytes())
