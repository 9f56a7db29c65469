"""Custom Kedro datasets: what kedro-datasets lacks for this project.

Import paths are what ``conf/base/catalog.yml`` names as ``type:``. Modules that need
TensorFlow or MLflow import them only when used, so loading the catalog stays fast.
"""

from .checkpoint_dataset import TensorFlowCheckpointDataset
from .idx_dataset import ChecksumError, IDXDataset
from .mlflow_tags_dataset import MlflowTagsDataset
from .numpy_dataset import NumpyDataset
from .training_checkpoints_dataset import TrainingCheckpointsDataset

__all__ = [
    "ChecksumError",
    "IDXDataset",
    "MlflowTagsDataset",
    "NumpyDataset",
    "TensorFlowCheckpointDataset",
    "TrainingCheckpointsDataset",
]


def __getattr__(name: str):  # lazy: kedro_mlflow pulls in mlflow (~2 s)
    if name == "MlflowKerasModelDataset":
        from .mlflow_keras_model_dataset import MlflowKerasModelDataset  # noqa: PLC0415

        return MlflowKerasModelDataset
    raise AttributeError(name)
