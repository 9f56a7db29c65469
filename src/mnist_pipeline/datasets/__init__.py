"""Custom Kedro datasets: what kedro-datasets lacks for this project.

Import paths are what ``conf/base/catalog.yml`` names as ``type:``. Every file-backed
dataset stands on :class:`.storage.FileDataset` (a local path or any fsspec URL, saved
whole or not at all); the ones that need TensorFlow import it only when used, so loading
the catalog stays fast. The reports' and figures' datasets are kedro-datasets' own with
atomic saves (:mod:`.reports`, :mod:`.figures`).
"""

from .checkpoint_dataset import TensorFlowCheckpointDataset
from .idx_dataset import ChecksumError, IDXDataset
from .image_folder_dataset import ImageFolderDataset
from .keras_exports_dataset import KerasExportsDataset
from .keras_model_dataset import KerasModelDataset
from .numpy_dataset import NumpyDataset
from .optuna_storage_dataset import OptunaStorageDataset
from .resume_checkpoints_dataset import ResumeCheckpoints, ResumeCheckpointsDataset

__all__ = [
    "ChecksumError",
    "IDXDataset",
    "ImageFolderDataset",
    "KerasExportsDataset",
    "KerasModelDataset",
    "NumpyDataset",
    "OptunaStorageDataset",
    "ResumeCheckpoints",
    "ResumeCheckpointsDataset",
    "TensorFlowCheckpointDataset",
]
