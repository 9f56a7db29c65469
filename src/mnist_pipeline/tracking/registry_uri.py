"""The run's model-registry address, fixed while the run lasts.

Left unset, MLflow works the registry address out again for every client it makes, and
each time it tries ``import pyspark`` (to ask a Spark session). The system-metrics thread
kedro-mlflow's run starts makes a client at every sample. That import, at the moment the
main thread imports a module for the first time (the gate's ``mlflow.models.evaluate``
imports its evaluators, seconds of modules), can deadlock on MLflow's import-hook lock
against Python's per-module import locks (mlflow/mlflow#22953, #23466): an Airflow task
hung so for ten minutes. With the address fixed before the run starts, the thread
imports nothing.
"""

from __future__ import annotations

import mlflow
from kedro.framework.hooks import hook_impl


class RegistryUriHook:
    """Fixes the registry address, as MLflow resolves it (the tracking server's unless
    ``mlflow.yml`` names another), before kedro-mlflow starts the run. kedro-mlflow sets
    it again from ``mlflow.yml`` for the next session."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self) -> None:
        mlflow.set_registry_uri(mlflow.get_registry_uri())
