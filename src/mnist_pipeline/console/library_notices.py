"""The notices of the libraries under this project that a user can do nothing about,
dropped at the narrowest point that reaches each.

:func:`quiet_start` runs once, as the project's settings are loaded (every ``kedro``
command, a notebook's session, ``kedro viz``'s server), before the libraries speak.
"""

from __future__ import annotations

import logging
import os
import warnings

from .tensorflow_logs import filter_tensorflow_banner

#: (logger, text) of the messages logged through Python's ``logging`` (Kedro routes warnings
#: there too) that are dropped.
DROPPED_LOG_MESSAGES = (
    # MLflow asks every pyfunc model's `predict` for type hints (kedro-mlflow's, whenever it
    # is imported; the served model's), under its own `simplefilter("once")`, past any
    # warnings filter. The served model takes either pixel arrays or image files, which no
    # one hint says; it checks what it is sent itself, and its signature says what it returns.
    ("py.warnings", "Add type hints to the `predict` method"),
    # The served model is logged as a Python object (cloudpickled), with its code beside it.
    ("mlflow.pyfunc", "Passing a Python object as `python_model`"),
)


def quiet_start() -> None:
    """Drop the known notices and TensorFlow's C++ start-up banner, from now on."""
    # Kedro 1.7 registers its resolvers with OmegaConf's deprecated call.
    warnings.filterwarnings(
        "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
    )
    for logger, text in DROPPED_LOG_MESSAGES:
        logging.getLogger(logger).addFilter(
            lambda record, text=text: text not in record.getMessage()
        )
    # kedro-viz's server runs in a process of its own, which imports kedro-viz (and so
    # raises FastAPI's deprecation of ORJSONResponse) before it loads these settings: the
    # filter goes to it through the environment.
    os.environ["PYTHONWARNINGS"] = ",".join(
        filter(None, (os.environ.get("PYTHONWARNINGS"), "ignore:ORJSONResponse is deprecated"))
    )
    # MLflow draws a download progress bar when it checks the logged model's input example.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # TensorFlow's C++ start-up lines, in runs that train or load a model.
    filter_tensorflow_banner()
