"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

kedro-mlflow's hooks register themselves through its entry point; the MLflow settings are
in ``conf/base/mlflow.yml``.
"""

from mnist_pipeline.hooks import InterruptedRunsHook, ModelLineageHook, ParameterCheckHook
from mnist_pipeline.registry import ModelRegistryHook

# Pluggy calls hooks in reverse order of registration, `tryfirst` ones before the rest:
# parameters are checked first, then the model is looked up, then runs of dead processes
# are marked KILLED, all before kedro-mlflow opens this run's MLflow run. The `trylast`
# registry hook runs after kedro-mlflow's own, which logs and registers the model.
HOOKS = (
    ModelRegistryHook(),
    InterruptedRunsHook(),
    ModelLineageHook(),
    ParameterCheckHook(),
)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
