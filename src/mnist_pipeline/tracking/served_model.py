"""The served model: :class:`DigitClassifier`, an MLflow pyfunc model (:mod:`.model` logs it).

Served (``mlflow models serve``) or loaded (``mlflow.pyfunc.load_model``), it answers a
request with the functions of :mod:`mnist_pipeline.pipelines.inference.nodes`, in order:
read the images (pixel arrays, or encoded image files prepared as ``predict`` prepares a
user's), scale the pixels with ``preprocess``'s own node, run the network, tabulate. No
Kedro runner or catalog per request: the steps are the functions themselves. This module
imports ``mlflow.pyfunc``; only packaging and loading a model import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from mnist_pipeline.monitoring.prediction_log import SOURCES, PredictionLog
from mnist_pipeline.pipelines.inference.confidence import Confidence
from mnist_pipeline.pipelines.inference.nodes import (
    InvalidImagesError,
    merge_predictions,
    predict_logits,
    predictions_table,
    requested_images,
)
from mnist_pipeline.pipelines.preprocess.nodes import flatten_and_scale

from .model import REGISTERED_MODEL_NAME


class RefusedRequest(MlflowException):
    """A request the served model refuses (:class:`InvalidImagesError`), as MLflow's scoring
    server answers with HTTP 400: an ``MlflowException`` with code ``INVALID_PARAMETER_VALUE``
    (any other error becomes a generic 500).

    The server rewrites a model's message as ``Failed to predict data '<the whole
    request>'. Error: <message>``; this error keeps its own, so that the reason stays the
    400's first line rather than a copy of the request (its ``message`` ignores the
    rewrite).
    """

    def __init__(self, reason: str) -> None:
        """The refusal, with ``reason`` (which item is wrong, and why) as its message."""
        self._reason = reason
        super().__init__(reason, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        """Why the request was refused, whatever the server prefixes."""
        return self._reason

    @message.setter
    def message(self, value: str) -> None:
        """Keep the reason (the scoring server's rewrite is dropped)."""


class _CompiledForward:
    """The Keras model's forward pass, compiled once for any number of rows (a request of
    one image costs about half of Keras' eager call)."""

    def __init__(self, model) -> None:
        import tensorflow as tf  # noqa: PLC0415

        self._call = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec([None, int(model.inputs[0].shape[-1])], tf.float32)],
            autograph=False,
        )

    def __call__(self, features: np.ndarray, training: bool = False):
        return self._call(features)


class DigitClassifier(mlflow.pyfunc.PythonModel):
    """The served model: digit images in, the prediction table out.

    ``preparation`` is how an encoded image file becomes MNIST-like (``predict``'s
    parameters); ``limits`` bound a request (``serving.max_request_images``,
    ``max_image_bytes``, ``max_image_pixels``); ``confidence`` is the trained model's
    temperature and rejection threshold (a ``Confidence`` of
    :mod:`mnist_pipeline.pipelines.inference.confidence`, as a mapping);
    ``prediction_log`` is where and how it logs every answer
    (:mod:`mnist_pipeline.monitoring.prediction_log`, ``parameters_monitoring.yml``).

    A request's parameters say who asks: ``source`` (``server`` unless a caller says
    ``predict`` or ``page``; ``""`` for the project's own checks, which are not logged)
    and ``model_version`` (the registered version, when the caller knows it).
    """

    def __init__(
        self,
        preparation: dict[str, Any],
        limits: dict[str, int],
        confidence: dict[str, Any],
        prediction_log: dict[str, Any] | None = None,
    ) -> None:
        """Keep how to prepare, what to accept, how sure to be and where to log; the
        network is loaded with the model."""
        self.preparation = dict(preparation)
        self.limits = dict(limits)
        self.confidence = Confidence.from_dict(confidence)
        self.prediction_log = dict(prediction_log or {"enabled": False})
        self._network = None
        self._log: PredictionLog | None = None
        self._identity: dict[str, str] = {}

    def load_context(self, context) -> None:
        """Load the averaged Keras model (safe mode: no code from the file runs)."""
        # TensorFlow before Keras: in a Kedro run, MLflow's autologging hook fires when
        # TensorFlow's import ends and imports Keras, which must not be half-imported then.
        import tensorflow  # noqa: F401, PLC0415

        # isort: split
        import keras  # noqa: PLC0415

        model = keras.models.load_model(
            context.artifacts["keras_model"], compile=False, safe_mode=True
        )
        self._network = _CompiledForward(model)
        # A model logged before the prediction log existed has no settings: it logs nothing.
        self._log = PredictionLog.from_settings(getattr(self, "prediction_log", {"enabled": 0}))
        self._identity = {"name": REGISTERED_MODEL_NAME, "run_id": _run_id_of(context)}

    @property
    def log(self) -> PredictionLog | None:
        """Where this model logs its answers (``None``: it does not)."""
        return getattr(self, "_log", None)

    def predict(self, context, model_input, params=None):
        """The table of digits and probabilities, one row per image (with ``name`` and
        ``error`` columns for encoded files, an error meaning no digit; a rejected image
        has no digit either, and says why).

        Raises:
            RefusedRequest: for a request that cannot be answered (HTTP 400).
        """
        try:
            images, items = requested_images(model_input, self.preparation, self.limits)
        except InvalidImagesError as exc:
            raise RefusedRequest(str(exc)) from None
        logits = predict_logits(self._network, flatten_and_scale(images))
        table = predictions_table(logits, self.confidence)
        source = (params or {}).get("source", "server")
        if self.log is not None and source in SOURCES:
            version = str((params or {}).get("model_version") or "")
            self.log.record(images, table, source, {**self._identity, "version": version})
        return table if items is None else merge_predictions(items, table)


def _run_id_of(context) -> str:
    """The training run of the model being loaded, from its ``MLmodel`` file ("" if none)."""
    import yaml  # noqa: PLC0415

    try:
        folder = Path(context.artifacts["keras_model"]).resolve().parent.parent
        return str(yaml.safe_load((folder / "MLmodel").read_text()).get("run_id") or "")
    except (OSError, KeyError, AttributeError, yaml.YAMLError):
        return ""
