"""Project hooks, a module per concern (registered in :mod:`mnist_pipeline.settings`).

- :mod:`.parameters`: every parameter checked before any data is read;
- :mod:`.runs`: one run at a time per project, and MLflow runs of dead processes closed;
- :mod:`.lineage`: a run that uses a trained model is tagged with the run that trained it;
- :mod:`.registration`: a newly registered model becomes the champion if it earns it;
- :mod:`.tracking_server`: a remote tracking server checked before it is used;
- :mod:`.airflow`: the MLflow runs of one Airflow DAG run tagged with its id;
- :mod:`.mlflow_tracking`: kedro-mlflow's own hook, building no unused catalog entry.

The two that tag the run (lineage, airflow) set their tags through :mod:`.pending_tags`.
"""

from .airflow import AirflowRunTagsHook
from .lineage import ModelLineageHook, ModelNotTrainedError
from .mlflow_tracking import LazyCatalogMlflowHook
from .parameters import ParameterCheckHook
from .registration import ModelRegistryHook
from .runs import OneRunAtATimeHook
from .tracking_server import TrackingServerHook

__all__ = [
    "AirflowRunTagsHook",
    "LazyCatalogMlflowHook",
    "ModelLineageHook",
    "ModelNotTrainedError",
    "ModelRegistryHook",
    "OneRunAtATimeHook",
    "ParameterCheckHook",
    "TrackingServerHook",
]
