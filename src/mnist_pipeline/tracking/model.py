"""How a trained model reaches MLflow: the served model, logged and registered.

Every run that trains saves :class:`.served_model.DigitClassifier` through the catalog's
``served_model`` (:class:`MlflowServedModelDataset`): one MLflow pyfunc model per run,
its artifacts the averaged Keras model that ``evaluate`` judges and its portable exports
(TF SavedModel, ONNX, LiteRT), registered as :data:`REGISTERED_MODEL_NAME`. Served
(``mlflow models serve``) or loaded (``mlflow.pyfunc.load_model``), it answers a request
with the functions of :mod:`mnist_pipeline.pipelines.inference.nodes`, in order: read the
images (pixel arrays, or encoded image files prepared as ``predict`` prepares a user's),
scale the pixels with ``preprocess``'s own node, run the network, tabulate. No Kedro
runner or catalog per request: the steps are the functions themselves.
"""

from __future__ import annotations

import base64
import io
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from mnist_pipeline.pipelines.inference.nodes import IMAGE_SIDE, PREDICTION_COLUMNS

#: The registry name every trained model version is filed under.
REGISTERED_MODEL_NAME = "mnist_classifier"
#: The alias that points at the version that serves (see :mod:`.registry`).
CHAMPION_ALIAS = "champion"
#: What loading and running the served model needs besides Python (pinned to what trained it).
RUNTIME_PACKAGES = (
    "kedro",
    "mlflow",
    "tensorflow",
    "keras",
    "numpy",
    "pandas",
    "pillow",
    "scipy",
)
#: The exports (``datasets.KerasExportsDataset``), each an artifact of the served model.
EXPORT_FILES = {"tf_saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}


def registered_model_uri(version: int | str) -> str:
    """The address of one registered version, e.g. ``models:/mnist_classifier/3``."""
    return f"models:/{REGISTERED_MODEL_NAME}/{version}"


def signature():
    """What the model returns (it checks what it is sent itself, so it takes either kind):
    ``name`` and ``error`` for encoded files, ``digit``, ``probability``, ``p0``..``p9``."""
    from mlflow.models import ModelSignature  # noqa: PLC0415
    from mlflow.types import ColSpec, Schema  # noqa: PLC0415

    return ModelSignature(
        outputs=Schema(
            [ColSpec("string", "name", required=False)]
            + [ColSpec("long", PREDICTION_COLUMNS[0])]
            + [ColSpec("double", name) for name in PREDICTION_COLUMNS[1:]]
            + [ColSpec("string", "error", required=False)]
        ),
    )


def input_example():
    """One hand-drawn '1' as an encoded PNG file with its name: a vertical stroke, black on
    white paper, as a person would draw it. (Pixel arrays work too: N x 28 x 28 numbers
    0-255, white on black as in MNIST.)"""
    import pandas as pd  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    paper = np.full((IMAGE_SIDE * 4, IMAGE_SIDE * 4), 255, np.uint8)
    paper[16:96, 52:62] = 0
    buffer = io.BytesIO()
    Image.fromarray(paper).save(buffer, format="PNG")
    return pd.DataFrame(
        {"image": [base64.b64encode(buffer.getvalue()).decode()], "name": ["one.png"]}
    )


class MlflowServedModelDataset(AbstractDataset[Any, Any]):
    """Saving the served model's settings (``preparation``, ``limits``) logs a
    :class:`.served_model.DigitClassifier` made of them to the active MLflow run as
    ``model``, with the Keras model and the exports as its artifacts, and registers it.

    Example catalog entry::

        served_model:
          type: mnist_pipeline.tracking.model.MlflowServedModelDataset
          keras_model: data/06_models/mnist_model.keras
          exports: data/06_models/exports
    """

    def __init__(self, keras_model: str, exports: str, metadata: dict | None = None) -> None:
        """The local files to attach: the Keras model, and the exports' folder."""
        self._keras_model = Path(keras_model)
        self._exports = Path(exports)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"keras_model": str(self._keras_model), "registered_model": REGISTERED_MODEL_NAME}

    def _exists(self) -> bool:
        return False  # it lives in MLflow, one version per run

    def save(self, data: dict[str, Any]) -> None:
        """Log and register the served model (its code travels with it)."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        from .served_model import DigitClassifier  # noqa: PLC0415 (imports mlflow.pyfunc)

        artifacts = {"keras_model": str(self._keras_model)}
        artifacts.update(
            {
                name: str(self._exports / file)
                for name, file in EXPORT_FILES.items()
                if (self._exports / file).exists()
            }
        )
        package = Path(__file__).resolve().parents[1]
        mlflow.pyfunc.log_model(
            name="model",
            python_model=DigitClassifier(data["preparation"], data["limits"]),
            artifacts=artifacts,
            signature=signature(),
            input_example=input_example(),
            pip_requirements=[f"{name}=={version(name)}" for name in RUNTIME_PACKAGES],
            code_paths=[str(package)],
            registered_model_name=REGISTERED_MODEL_NAME,
        )

    def load(self) -> Any:
        """The served model is loaded from the registry (``champion_model``), not from here."""
        raise DatasetError(
            f"load the served model from the registry: models:/{REGISTERED_MODEL_NAME}@champion"
        )
