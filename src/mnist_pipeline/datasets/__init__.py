"""Custom Kedro datasets: what kedro-datasets lacks for this project.

Import paths are what ``conf/base/catalog.yml`` names as ``type:``. Modules that need
TensorFlow or MLflow import them only when used, so loading the catalog stays fast.
"""

from .checkpoint_dataset import TensorFlowCheckpointDataset
from .idx_dataset import ChecksumError, IDXDataset
from .image_folder_dataset import ImageFolderDataset
from .keras_model_dataset import KerasModelDataset
from .mlflow_live_metrics_dataset import MlflowLiveMetricsDataset
from .mlflow_tags_dataset import MlflowTagsDataset
from .numpy_dataset import NumpyDataset
from .resume_checkpoints_dataset import ResumeCheckpointsDataset

__all__ = [
    "ChecksumError",
    "IDXDataset",
    "ImageFolderDataset",
    "KerasModelDataset",
    "MlflowLiveMetricsDataset",
    "MlflowTagsDataset",
    "NumpyDataset",
    "TensorFlowCheckpointDataset",
    "ResumeCheckpointsDataset",
]
