"""Project settings: see https://docs.kedro.org/en/stable/configure/configuration_basics/.

Every ``kedro`` command of this project (and a notebook's session) loads this module
first, so it first quiets the libraries' notices a user cannot act on (:mod:`.console`).

The project's hooks watch a run; none loads or saves the catalog's data, and none
depends on the others' order. What they check or set comes before kedro-mlflow (whose
hook its entry point registers) opens the run's MLflow run, hence their ``tryfirst``: the
parameters are checked (:mod:`.parameters`); a team's tracking server is checked
(:mod:`.tracking.team_server`); the run takes the project's run lock, closes runs of dead
processes and names its machine (:mod:`.tracking.run_guard`); the trained model it reads
is found, and the data it reads is logged as it is read (:mod:`.tracking.lineage`).
"""

from omegaconf.resolvers import oc

from mnist_pipeline.console import quiet_start

quiet_start()

# After the notices are set: MLflow, which the hooks import, warns as it is imported.
from mnist_pipeline.parameters import ParameterCheckHook  # noqa: E402
from mnist_pipeline.tracking.lineage import LineageHook  # noqa: E402
from mnist_pipeline.tracking.registry_uri import RegistryUriHook  # noqa: E402
from mnist_pipeline.tracking.run_guard import OneRunAtATimeHook  # noqa: E402
from mnist_pipeline.tracking.team_server import TrackingServerHook  # noqa: E402

HOOKS = (
    ParameterCheckHook(),
    TrackingServerHook(),
    OneRunAtATimeHook(),
    LineageHook(),
    RegistryUriHook(),
)

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
