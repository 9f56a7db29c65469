"""Nodes of the ``train`` pipeline.

TensorFlow takes seconds to import, so these functions import the training library when
they run, not when the pipeline is registered: ``kedro run --pipeline=ingest`` and
``kedro viz`` never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from mnist_pipeline.parameters import train_parameters
from mnist_pipeline.pipelines.inference.confidence import fit_confidence


def train_model(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    checkpoints: Any,
    log_metrics: Callable[[int, Mapping[str, float]], None],
    parameters: dict[str, Any],
) -> tuple[dict[str, np.ndarray], pd.DataFrame, float, dict[str, str]]:
    """Train the seed's MLP (or LeNet-5, ``model: lenet5``) with SGD, decay, L2 and a moving
    average of the weights, validating the averaged network as it goes and testing it at
    the end, as the seed does.

    ``checkpoints`` (from the catalog) is where training checkpoints itself at every
    evaluation step, and whence an interrupted run resumes; ``log_metrics`` (also from
    the catalog) receives each point of the history (validation accuracy, training loss,
    learning rate) as soon as it is measured.

    Returns:
        The final checkpoint state (weights, averages, global step), the history of
        validation accuracy / training loss / learning rate at each evaluation step, the
        averaged network's test accuracy, and run tags naming the run it resumed, if any.
    """
    from mnist_pipeline.training.loop import train  # noqa: PLC0415 (TensorFlow)

    config = train_parameters(parameters)
    result = train(
        x_train, y_train, x_val, y_val, config, checkpoints, log_metrics, (x_test, y_test)
    )
    tags = {}
    if result.resumed is not None:
        tags = {"resumed_from_step": str(result.resumed.step)}
        if result.resumed.run_id:
            tags["resumed_from_run_id"] = result.resumed.run_id
    return result.state, result.history, result.test_accuracy, tags


def build_averaged_model(checkpoint: dict[str, np.ndarray]) -> Any:
    """A Keras model (pixels in, logits out) with the checkpoint's averaged weights.

    These are the weights the seed validates and tests with, so this is the model that is
    evaluated, and served inside the inference pipeline. The checkpoint's variables say
    which network it is (the MLP's or LeNet-5's).
    """
    from mnist_pipeline.training import lenet5, mlp  # noqa: PLC0415

    if lenet5.AVERAGE_PREFIX + lenet5.WEIGHT_NAMES[0] in checkpoint:
        return lenet5.averaged_keras_lenet5(checkpoint)
    return mlp.averaged_keras_model(checkpoint)


def exportable_model(model: Any, serving: Mapping[str, Any]) -> dict[str, Any]:
    """The model as the exports take it (28x28 pixel values 0-255 in, the 10 probabilities
    out, the scaling and softmax inside the graph), and the formats to export."""
    import keras  # noqa: PLC0415

    side = int(round(model.inputs[0].shape[-1] ** 0.5))
    wrapped = keras.Sequential(
        [
            keras.Input((side, side), name="pixels"),
            keras.layers.Rescaling(1.0 / 255.0, name="scale"),
            keras.layers.Reshape((side * side,), name="flat"),
            model,
            keras.layers.Softmax(name="probabilities"),
        ],
        name="mnist_digit_probabilities",
    )
    return {"model": wrapped, "formats": list(serving["exports"])}


def fit_model_confidence(
    val_logits: np.ndarray, y_val: np.ndarray, serving: Mapping[str, Any]
) -> dict[str, Any]:
    """The trained model's temperature and rejection threshold, fitted on the validation
    split (:func:`~..inference.confidence.fit_confidence`): calibrated probabilities, and
    ``serving.reject_rate`` of real digits turned away as not digits."""
    confidence = fit_confidence(val_logits, np.argmax(y_val, axis=1), serving["reject_rate"])
    return confidence.as_dict()


def served_model_settings(
    exports: Mapping[str, Any],
    confidence: Mapping[str, Any],
    predict: Mapping[str, Any],
    serving: Mapping[str, Any],
    prediction_log: Mapping[str, Any],
) -> dict[str, Any]:
    """What the served model is made of: how it prepares an image file (``predict``'s
    parameters), what a request may hold (``serving``'s limits), how sure it is (its
    ``confidence``), where it logs its answers (``prediction_log``), and which exports
    (their manifest's formats) go with it."""
    limits = ("max_request_images", "max_image_bytes", "max_image_pixels")
    return {
        "preparation": dict(predict),
        "limits": {key: serving[key] for key in limits},
        "confidence": dict(confidence),
        "prediction_log": dict(prediction_log),
        "exports": sorted(exports),
    }
