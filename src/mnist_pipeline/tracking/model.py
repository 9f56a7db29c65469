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
import dataclasses
import io
import time
from importlib.metadata import version as package_version
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
    "pyarrow",  # the prediction log's files
    "fsspec",
)
#: The exports (``datasets.KerasExportsDataset``), each an artifact of the served model.
EXPORT_FILES = {"tf_saved_model": "saved_model", "onnx": "model.onnx", "litert": "model.tflite"}


def registered_model_uri(version: int | str) -> str:
    """The address of one registered version, e.g. ``models:/mnist_classifier/3``."""
    return f"models:/{REGISTERED_MODEL_NAME}/{version}"


@dataclasses.dataclass
class RegisteredModel:
    """A registered version as the gate, ``predict`` and the page use it: ``model`` answers
    like the served model (``predict``), ``run`` is its training run as plain values
    (``run_id``, ``params``, ``metrics``, ``tags``, ``datasets``, ``seconds``)."""

    name: str
    version: str
    model_uri: str
    run: dict[str, Any]
    tags: dict[str, str]
    model: Any


def number_of(version: Any) -> str:
    """A version's number as text: MLflow's SQL store answers whole numbers, its REST
    client texts, and both take texts."""
    return str(version.version)


def training_run(client, run_id: str) -> dict[str, Any]:
    """The training run of a version, as the model card reads it; a run still open (the
    one training now) counts its seconds until now."""
    run = client.get_run(run_id)
    end = run.info.end_time or time.time() * 1000
    datasets = [
        {
            "context": next((t.value for t in item.tags if t.key == "mlflow.data.context"), ""),
            "name": item.dataset.name,
            "digest": item.dataset.digest,
        }
        for item in (getattr(run.inputs, "dataset_inputs", None) or [])
    ]
    return {
        "run_id": run_id,
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "tags": dict(run.data.tags),
        "datasets": datasets,
        "seconds": (end - run.info.start_time) / 1000,
    }


def registered_model(client, version: Any, model: Any) -> RegisteredModel:
    """``version`` (an MLflow model version) with its training run, answering with ``model``."""
    number = number_of(version)
    return RegisteredModel(
        name=REGISTERED_MODEL_NAME,
        version=number,
        model_uri=registered_model_uri(number),
        run=training_run(client, version.run_id),
        tags=dict(version.tags),
        model=model,
    )


def load_served_model(model_uri: str) -> Any:
    """The served model at ``model_uri`` in this process or, when it was logged with other
    code than this process runs (an older version), in a fresh process with its own."""
    import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

    from .fresh_process import ServedInAFreshProcess  # noqa: PLC0415

    try:
        return mlflow.pyfunc.load_model(model_uri)
    except (AttributeError, ImportError, TypeError):  # unpickling it needs its own code
        return ServedInAFreshProcess().load(model_uri)


def signature():
    """What the model returns (it checks what it is sent itself, so it takes either kind):
    ``name`` and ``error`` for encoded files, ``digit`` (none for an image it cannot read
    or rejects), ``probability``, ``p0``..``p9``, ``digit_likeness``, ``rejected``, ``reason``;
    and the request's parameters: who asks (``source``, for the prediction log) and the
    registered version answering (``model_version``), when the caller knows it."""
    from mlflow.models import ModelSignature  # noqa: PLC0415
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema  # noqa: PLC0415

    kinds = {"digit": "long", "rejected": "boolean", "reason": "string"}
    return ModelSignature(
        params=ParamSchema(
            [ParamSpec("source", "string", "server"), ParamSpec("model_version", "string", "")]
        ),
        outputs=Schema(
            [ColSpec("string", "name", required=False)]
            + [
                ColSpec(kinds.get(name, "double"), name, required=name != "digit")
                for name in PREDICTION_COLUMNS
            ]
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


class MlflowServedModelDataset(AbstractDataset[dict, RegisteredModel]):
    """Saving the served model's settings (``preparation``, ``limits``, the ``exports`` made)
    logs a :class:`.served_model.DigitClassifier` made of them to the active MLflow run as
    ``model``, with the Keras model and those exports as its artifacts, and registers it.
    Loading gives the version this session registered (else the newest version: ``kedro run
    --pipeline=register`` puts the newest through the gate) as a :class:`RegisteredModel`
    whose served model runs in a fresh process, as ``mlflow models serve`` loads it.

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
        self._registered: str | None = None  # the version this session registered
        self._loaded: RegisteredModel | None = None

    def _describe(self) -> dict[str, Any]:
        return {"keras_model": str(self._keras_model), "registered_model": REGISTERED_MODEL_NAME}

    def _exists(self) -> bool:
        return self._registered is not None or self._newest() is not None

    def save(self, data: dict[str, Any]) -> None:
        """Log and register the served model (its code travels with it)."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        from .fresh_process import ServedInAFreshProcess  # noqa: PLC0415
        from .served_model import DigitClassifier  # noqa: PLC0415 (imports mlflow.pyfunc)

        # Started now, so that its imports overlap the logging below.
        served = ServedInAFreshProcess()
        artifacts = {"keras_model": str(self._keras_model)}
        artifacts.update(
            {name: str(self._exports / EXPORT_FILES[name]) for name in data["exports"]}
        )
        package = Path(__file__).resolve().parents[1]
        logged = mlflow.pyfunc.log_model(
            name="model",
            python_model=DigitClassifier(
                data["preparation"], data["limits"], data["confidence"], data["prediction_log"]
            ),
            artifacts=artifacts,
            signature=signature(),
            input_example=input_example(),
            pip_requirements=[f"{name}=={package_version(name)}" for name in RUNTIME_PACKAGES],
            code_paths=[str(package)],
            registered_model_name=REGISTERED_MODEL_NAME,
        )
        self._registered = str(logged.registered_model_version)
        self._loaded = registered_model(
            mlflow.MlflowClient(),
            mlflow.MlflowClient().get_model_version(REGISTERED_MODEL_NAME, self._registered),
            served.load(registered_model_uri(self._registered)),
        )

    def _newest(self) -> Any | None:
        import mlflow  # noqa: PLC0415

        versions = mlflow.MlflowClient().search_model_versions(f"name = '{REGISTERED_MODEL_NAME}'")
        return max(versions, key=lambda v: int(v.version), default=None)

    def load(self) -> RegisteredModel:
        """The version this session registered, or the newest, served in a fresh process
        (started once for the session)."""
        import mlflow  # noqa: PLC0415

        from .fresh_process import ServedInAFreshProcess  # noqa: PLC0415

        client = mlflow.MlflowClient()
        if self._registered is not None:
            version = client.get_model_version(REGISTERED_MODEL_NAME, self._registered)
        else:
            version = self._newest()
            if version is None:
                raise DatasetError(
                    f"There is no version of {REGISTERED_MODEL_NAME} in the MLflow registry "
                    f"({mlflow.get_tracking_uri()}) yet: run `kedro run` first to train one."
                )
        if self._loaded is None or self._loaded.version != number_of(version):
            served = ServedInAFreshProcess().load(registered_model_uri(number_of(version)))
            self._loaded = registered_model(client, version, served)
        return self._loaded

    def _release(self) -> None:
        """End the served model's process once the run no longer needs it."""
        if self._loaded is not None:
            self._loaded.model.close()
            self._loaded = None
