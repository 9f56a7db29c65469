"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

kedro-mlflow's hooks register themselves through its entry point; the MLflow settings are
in ``conf/base/mlflow.yml``.
"""

from omegaconf.resolvers import oc

from mnist_pipeline.hooks import (
    AirflowRunTagsHook,
    ModelLineageHook,
    ModelRegistryHook,
    OneRunAtATimeHook,
    ParameterCheckHook,
    TrackingServerHook,
)
from mnist_pipeline.quiet_start import quiet_start

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

quiet_start()

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
