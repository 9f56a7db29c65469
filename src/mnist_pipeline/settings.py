"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

kedro-mlflow's hooks register themselves through its entry point; the MLflow settings are
in ``conf/base/mlflow.yml``.
"""

import warnings

from omegaconf.resolvers import oc

from mnist_pipeline.hooks import (
    AirflowRunTagsHook,
    ModelLineageHook,
    ModelRegistryHook,
    OneRunAtATimeHook,
    ParameterCheckHook,
    TrackingServerHook,
)

# Pluggy calls hooks in reverse order of registration, `tryfirst` ones before the rest and
# `trylast` ones after. When the context is created, a remote tracking server is checked
# before kedro-mlflow sets it up. Before a run: parameters are checked first, then the
# model is looked up, then the run lock is taken and runs of dead processes are marked
# KILLED, all before kedro-mlflow opens this run's MLflow run. After it: kedro-mlflow logs and
# registers the model, the registry hook decides on the champion, the lock is released.
HOOKS = (
    AirflowRunTagsHook(),
    OneRunAtATimeHook(),
    ModelRegistryHook(),
    ModelLineageHook(),
    ParameterCheckHook(),
    TrackingServerHook(),
)

# Kedro 1.7 registers its resolvers with OmegaConf's deprecated call, which warns on every
# run: noise for a user, nothing they can act on (fixed upstream by moving to
# OmegaConf.register_resolver).
warnings.filterwarnings(
    "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # ${oc.env:MLFLOW_TRACKING_URI,...} in conf/server/mlflow.yml (Kedro allows it only in
    # credentials unless registered).
    "custom_resolvers": {"oc.env": oc.env},
    # kedro-mlflow's own pattern, declared here so that the tracking-server check can read
    # mlflow.yml before kedro-mlflow adds it.
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
}
