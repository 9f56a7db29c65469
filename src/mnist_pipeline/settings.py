"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

kedro-mlflow's hook is registered here, in place of the one its entry point registers,
as a subclass that leaves unused catalog entries unbuilt (:mod:`.hooks.mlflow_tracking`);
the MLflow settings are in ``conf/base/mlflow.yml``.
"""

from omegaconf.resolvers import oc

from mnist_pipeline.quiet_start import quiet_start

# Before the hooks are imported: kedro-mlflow, which they import, warns as it is imported.
quiet_start()

from mnist_pipeline.hooks import (  # noqa: E402
    AirflowRunTagsHook,
    LazyCatalogMlflowHook,
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
# kedro-mlflow's hook comes last, where its entry point would have registered it.
HOOKS = (
    AirflowRunTagsHook(),
    OneRunAtATimeHook(),
    ModelRegistryHook(),
    ModelLineageHook(),
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
    # kedro-mlflow's own pattern, declared here so that the tracking-server check can read
    # mlflow.yml before kedro-mlflow adds it.
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]},
}
