"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

kedro-mlflow's hooks register themselves through its entry point; the MLflow settings are
in ``conf/base/mlflow.yml``.
"""

from mnist_pipeline.hooks import (
    ModelLineageHook,
    ModelRegistryHook,
    OneRunAtATimeHook,
    ParameterCheckHook,
)

# Pluggy calls hooks in reverse order of registration, `tryfirst` ones before the rest and
# `trylast` ones after. Before a run: parameters are checked first, then the model is
# looked up, then the run lock is taken and runs of dead processes are marked KILLED, all
# before kedro-mlflow opens this run's MLflow run. After it: kedro-mlflow logs and
# registers the model, the registry hook decides on the champion, the lock is released.
HOOKS = (
    OneRunAtATimeHook(),
    ModelRegistryHook(),
    ModelLineageHook(),
    ParameterCheckHook(),
)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
