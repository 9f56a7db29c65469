"""What every ``kedro`` command of this project sets before it starts: a quiet log.

Each item below is a line that the libraries under this project print on
every run and that a user can do nothing about; each is removed at the narrowest point
that reaches it, with the upstream cause named. Called once, from the project settings.
"""

from __future__ import annotations

import logging
import os
import warnings

from mnist_pipeline.tensorflow_banner import filter_tensorflow_banner

#: Messages logged through Python's ``logging`` (as Kedro routes warnings) that are dropped.
_DROPPED_LOG_MESSAGES = {
    # kedro-mlflow's KedroPipelineModel.predict has no type hints, so MLflow asks for them
    # (in colour) whenever kedro-mlflow is imported. The model's signature is given when it
    # is logged (mnist_pipeline.mlflow_model), which is what the hints would give. MLflow
    # raises it under its own `simplefilter("once")`, past any warnings filter.
    "py.warnings": "Add type hints to the `predict` method",
    # kedro-mlflow logs the model as a Python object (cloudpickled); only it can change that.
    "mlflow.pyfunc": "Passing a Python object as `python_model`",
}


def _dropping(text: str):
    return lambda record: text not in record.getMessage()


def quiet_start() -> None:
    """Silence the known noise of Kedro 1.7, kedro-mlflow 2, MLflow 3 and TensorFlow 2.21."""
    # Kedro 1.7 registers its resolvers with OmegaConf's deprecated call (fixed upstream by
    # moving to OmegaConf.register_resolver).
    warnings.filterwarnings(
        "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
    )
    for logger_name, text in _DROPPED_LOG_MESSAGES.items():
        logging.getLogger(logger_name).addFilter(_dropping(text))
    # TensorFlow's C++ start-up lines, in runs that train or load a model.
    filter_tensorflow_banner()
    # MLflow draws a download progress bar when it checks the logged model's input example.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
