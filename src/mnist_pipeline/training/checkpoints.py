"""What a resume checkpoint must match to be resumed: the settings and the data.

The checkpoint folder itself (TensorFlow checkpoints with JSON sidecars, kept where the
catalog says) is :class:`mnist_pipeline.datasets.ResumeCheckpoints`, which the catalog
hands the train node: training calls its ``restore``, ``save``, ``set_aside`` and ``clear``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from mnist_pipeline.parameters import TrainParameters

#: Settings that do not change the computation (the two implementations compute the same
#: step), so a run may resume across them.
_NOT_FINGERPRINTED = {"steps", "resume", "implementation"}


def training_fingerprint(config: TrainParameters, *arrays: np.ndarray) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the hyperparameters and the data."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str((array.shape, array.dtype.str)).encode())
        digest.update(np.ascontiguousarray(array).data)
    settings = {
        key: value for key, value in config.model_dump().items() if key not in _NOT_FINGERPRINTED
    }
    return {"settings": settings, "data_sha256": digest.hexdigest()}
