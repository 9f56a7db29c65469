"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

kedro-mlflow's hooks register themselves through its entry point; the MLflow settings are
in ``conf/base/mlflow.yml``.
"""

from mnist_pipeline.hooks import ModelLineageHook, ParameterCheckHook, RunLockHook

# Pluggy calls hooks in reverse order of registration: parameters are checked first,
# then the run lock is taken, then the model is looked up (all before kedro-mlflow's run).
HOOKS = (ModelLineageHook(), RunLockHook(), ParameterCheckHook())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
