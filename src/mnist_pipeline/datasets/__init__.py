"""Custom Kedro datasets: what kedro-datasets lacks for this project.

Import paths are what ``conf/base/catalog.yml`` names as ``type:``. Modules that need
TensorFlow or MLflow import them only when used, so loading the catalog stays fast.
"""

from .checkpoint_dataset import TensorFlowCheckpointDataset
from .idx_dataset import ChecksumError, IDXDataset
from .numpy_dataset import NumpyDataset

__all__ = [
    "ChecksumError",
    "IDXDataset",
    "NumpyDataset",
    "TensorFlowCheckpointDataset",
]


def __getattr__(name: str):  # lazy: kedro_mlflow pulls in mlflow (~2 s)
    if name == "MlflowKerasModelDataset":
        from .mlflow_keras_model_dataset import MlflowKerasModelDataset  # noqa: PLC0415

        return MlflowKerasModelDataset
    raise AttributeError(name)
