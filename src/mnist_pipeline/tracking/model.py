"""How a trained model reaches MLflow: the inference pipeline, packaged by kedro-mlflow.

Every pipeline that trains is a kedro-mlflow ``PipelineML`` (see
:mod:`mnist_pipeline.pipeline_registry`): at the end of its run kedro-mlflow logs the
``inference`` pipeline, with the trained ``mnist_model`` copied in, as one pyfunc model
and registers it as :data:`REGISTERED_MODEL_NAME`. These are the arguments of that
``mlflow.pyfunc.log_model`` call: what the model takes and returns, an example request,
and what it needs to load where it is served (the project's own code travels with it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from kedro import runner as kedro_runner

from mnist_pipeline.pipelines.inference.nodes import IMAGE_SIDE, PREDICTION_COLUMNS

#: The registry name every trained model version is filed under.
REGISTERED_MODEL_NAME = "mnist_classifier"
#: The alias that points at the best version so far (see :mod:`.registry`).
CHAMPION_ALIAS = "champion"
#: What loading and running the model needs besides Python (pinned to what trained it).
RUNTIME_PACKAGES = (
    "kedro",
    "kedro-datasets",
    "kedro-mlflow",
    "mlflow",
    "tensorflow",
    "keras",
    "numpy",
    "pandas",
)


def registered_model_uri(version: int | str) -> str:
    """The address of one registered version, e.g. ``models:/mnist_classifier/3``."""
    return f"models:/{REGISTERED_MODEL_NAME}/{version}"


def signature():
    """Input: (N, 28, 28) pixel values 0..255 (float64, so that any JSON number parses and
    is checked by the model itself). Output: ``digit``, ``probability``, ``p0``..``p9``."""
    from mlflow.models import ModelSignature  # noqa: PLC0415
    from mlflow.types import ColSpec, Schema, TensorSpec  # noqa: PLC0415

    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float64), (-1, IMAGE_SIDE, IMAGE_SIDE))]),
        outputs=Schema(
            [ColSpec("long", PREDICTION_COLUMNS[0])]
            + [ColSpec("double", name) for name in PREDICTION_COLUMNS[1:]]
        ),
    )


def input_example() -> np.ndarray:
    """One hand-drawn '1': a vertical stroke, white on black, as MNIST draws digits."""
    image = np.zeros((1, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float64)
    image[0, 4:24, 13:16] = 255.0
    return image


@contextlib.contextmanager
def _kedro_logs_muted() -> Iterator[None]:
    kedro_logger = logging.getLogger("kedro")
    level = kedro_logger.level
    kedro_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        kedro_logger.setLevel(level)


class SequentialRunner(kedro_runner.SequentialRunner):
    """Kedro's ``SequentialRunner`` without its per-node INFO lines, for the served model.

    Kedro logs each dataset and node of every request through its rich log handler, which
    costs more than the prediction itself. kedro-mlflow's model keeps a runner whose *class name*
    matches the requested one (default ``SequentialRunner``), hence the same name.
    """

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run the pipeline with Kedro's INFO logs muted (warnings still show)."""
        with _kedro_logs_muted():
            return super().run(*args, **kwargs)


def kedro_pipeline_model_kwargs() -> dict[str, Any]:
    """The keyword arguments kedro-mlflow passes to its ``KedroPipelineModel``."""
    return {"runner": SequentialRunner()}


def log_model_kwargs() -> dict[str, Any]:
    """The keyword arguments kedro-mlflow passes to ``mlflow.pyfunc.log_model``."""
    package = Path(__file__).resolve().parents[1]
    return {
        "name": "model",
        "registered_model_name": REGISTERED_MODEL_NAME,
        "signature": signature(),
        "input_example": input_example(),
        "pip_requirements": [f"{name}=={version(name)}" for name in RUNTIME_PACKAGES],
        "code_paths": [str(package)],
    }
