"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

Every ``kedro`` command of this project (and a notebook's session) loads this module
first, so it also sets what every command needs before it starts: a quiet log. Each
notice dropped below is one that the libraries under this project print on every run and
that a user can do nothing about, dropped at the narrowest point that reaches it.

The hooks are registered here, each from the module of its concern; kedro-mlflow's own is
registered as a subclass that leaves unused catalog entries unbuilt
(:mod:`.tracking.kedro_mlflow_hook`), in place of the one its entry point registers.
"""

import logging
import os
import warnings

from omegaconf.resolvers import oc

from mnist_pipeline.training.tensorflow_banner import filter_tensorflow_banner

#: (logger, text) of the messages logged through Python's ``logging`` (Kedro routes warnings
#: there too) that are dropped.
_DROPPED_LOG_MESSAGES = (
    # MLflow asks every pyfunc model's `predict` for type hints (kedro-mlflow's, whenever it
    # is imported; the served model's), under its own `simplefilter("once")`, past any
    # warnings filter. The served model takes either pixel arrays or image files, which no
    # one hint says; it checks what it is sent itself, and its signature says what it returns.
    ("py.warnings", "Add type hints to the `predict` method"),
    # The served model is logged as a Python object (cloudpickled), with its code beside it.
    ("mlflow.pyfunc", "Passing a Python object as `python_model`"),
)
# Kedro 1.7 registers its resolvers with OmegaConf's deprecated call.
warnings.filterwarnings(
    "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
)
for _logger, _text in _DROPPED_LOG_MESSAGES:
    logging.getLogger(_logger).addFilter(lambda record, text=_text: text not in record.getMessage())
# kedro-viz's server runs in a process of its own, which imports kedro-viz (and so raises
# FastAPI's deprecation of ORJSONResponse) before it loads these settings: the filter goes
# to it through the environment.
os.environ["PYTHONWARNINGS"] = ",".join(
    filter(None, (os.environ.get("PYTHONWARNINGS"), "ignore:ORJSONResponse is deprecated"))
)
# MLflow draws a download progress bar when it checks the logged model's input example.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# TensorFlow's C++ start-up lines, in runs that train or load a model.
filter_tensorflow_banner()

# After the notices are set: kedro-mlflow, which the hooks import, warns as it is imported.
from mnist_pipeline.parameters import ParameterCheckHook  # noqa: E402
from mnist_pipeline.tracking.kedro_mlflow_hook import LazyCatalogMlflowHook  # noqa: E402
from mnist_pipeline.tracking.lineage import DataLineageHook, ModelLineageHook  # noqa: E402
from mnist_pipeline.tracking.registry import ModelRegistryHook  # noqa: E402
from mnist_pipeline.tracking.run_guard import OneRunAtATimeHook  # noqa: E402
from mnist_pipeline.tracking.run_tags import RunContextTagsHook  # noqa: E402
from mnist_pipeline.tracking.team_server import TrackingServerHook  # noqa: E402

# Pluggy calls hooks in reverse order of registration, `tryfirst` ones before the rest and
# `trylast` ones after. When the context is created, a remote tracking server is checked
# before kedro-mlflow sets it up. Before a run: parameters are checked first, then the
# model is looked up, then the run lock is taken and runs of dead processes are marked
# KILLED, all before kedro-mlflow opens this run's MLflow run. After it: kedro-mlflow logs and
# registers the model, the registry hook decides on the champion, the lock is released.
# kedro-mlflow's hook comes last, where its entry point would have registered it.
HOOKS = (
    RunContextTagsHook(),
    OneRunAtATimeHook(),
    ModelRegistryHook(),
    ModelLineageHook(),
    DataLineageHook(),
    ParameterCheckHook(),
    TrackingServerHook(),
    LazyCatalogMlflowHook(),
)
# Its distribution is named "kedro_mlflow" in its metadata (2.0); both spellings, so that a
# renamed release cannot run two MLflow hooks.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow", "kedro-mlflow")

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # ${oc.env:MLFLOW_TRACKING_URI,...} in conf/server/mlflow.yml (Kedro allows it only in
    # credentials unless registered).
    "custom_resolvers": {"oc.env": oc.env},
    # An environment's parameters (conf/local, conf/server) and `--params` change the keys
    # they name and keep the rest of each namespace. Kedro's default, destructive, merge
    # would replace a whole namespace: with any parameters file in conf/local,
    # `--params=train.steps=300` alone would train with none of parameters_train.yml.
    "merge_strategy": {"parameters": "soft"},
    # kedro-mlflow's own pattern, declared here so that the tracking-server check can read
    # mlflow.yml before kedro-mlflow adds it.
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
}
