"""Nodes of the ``train`` pipeline.

TensorFlow takes seconds to import, so these functions import the training library when
they run, not when the pipeline is registered: ``kedro run --pipeline=ingest`` and
``kedro viz`` never pay for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mnist_pipeline.training.config import TrainingConfig


def train_averaged_mlp(  # noqa: PLR0913
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    checkpoints: Any,
    parameters: dict[str, Any],
) -> tuple[dict[str, np.ndarray], pd.DataFrame, float, dict[str, str]]:
    """Train the seed's MLP with SGD, decay, L2 and a moving average of the weights.

    ``checkpoints`` (from the catalog) is where training checkpoints itself at every
    evaluation step, and whence an interrupted run resumes.

    Returns:
        The final checkpoint state (weights, averages, global step), the history of
        validation accuracy / training loss / learning rate at each evaluation step, the
        averaged model's test accuracy, and run tags naming the run it resumed, if any.
    """
    from mnist_pipeline.training.loop import train  # noqa: PLC0415 (TensorFlow)

    config = TrainingConfig.from_params(parameters)
    result = train(x_train, y_train, x_val, y_val, x_test, y_test, config, checkpoints)
    tags = {}
    if result.resumed is not None:
        tags = {"resumed_from_step": str(result.resumed.step)}
        if result.resumed.run_id:
            tags["resumed_from_run_id"] = result.resumed.run_id
    return result.state, result.history, result.test_accuracy, tags


def build_averaged_model(checkpoint: dict[str, np.ndarray]) -> Any:
    """A Keras model (pixels in, logits out) with the checkpoint's averaged weights.

    These are the weights the seed validates and tests with, so this is the model to
    evaluate and serve.
    """
    from mnist_pipeline.training.mlp import averaged_keras_model  # noqa: PLC0415

    return averaged_keras_model(checkpoint)


def package_model_for_serving(model: Any) -> Any:
    """Pass the model on unchanged: the MLflow dataset receiving it logs it as a model."""
    return model


def metric_histories(
    history: pd.DataFrame,
) -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
    """Split the history into ``{step: value}`` series for MLflow's metric charts.

    The training loss is undefined before the first step and left out there.
    """

    def series(column: str) -> dict[int, float]:
        rows = history[["step", column]].dropna()
        return {int(step): float(value) for step, value in zip(rows["step"], rows[column])}

    return series("val_accuracy"), series("train_loss"), series("learning_rate")
