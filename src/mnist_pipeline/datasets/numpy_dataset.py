"""A Kedro dataset for one NumPy array in a ``.npy`` file (kedro-datasets has none)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from mnist_pipeline.errors import DataFileError

from .storage import FileDataset


class NumpyDataset(FileDataset):
    """Saves and loads a single array as ``.npy``, atomically and without pickle.

    ``allow_pickle`` is always off: a ``.npy`` that needs unpickling is refused rather than
    executed. ``mmap_mode`` (e.g. ``r``) memory-maps large arrays instead of reading them
    (local files only). Example catalog entry::

        x_train:
          type: mnist_pipeline.datasets.NumpyDataset
          filepath: data/05_model_input/x_train.npy
    """

    def __init__(self, filepath: str, mmap_mode: str | None = None, **file_args: Any) -> None:
        """``filepath`` and ``file_args`` as :class:`.storage.FileDataset`; ``mmap_mode`` is
        passed to :func:`numpy.load` (``None`` reads the array into memory)."""
        super().__init__(filepath, **file_args)
        self._mmap_mode = mmap_mode if self._location.is_local else None

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "mmap_mode": self._mmap_mode}

    def load(self) -> np.ndarray:
        """Read the array; a missing or damaged file gives a message naming it."""
        if not self._location.is_file():
            raise DataFileError(
                f"{self._location} does not exist: run the pipeline that produces it first "
                "(see `kedro registry list`)."
            )
        try:
            if self._location.is_local:
                return np.load(self._location.path, mmap_mode=self._mmap_mode, allow_pickle=False)
            return np.load(io.BytesIO(self._location.read_bytes()), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataFileError(
                f"{self._location} is not a readable .npy file ({exc}); delete it and "
                "rerun the pipeline that produces it."
            ) from exc

    def save(self, data: np.ndarray) -> None:
        """Write the array whole or not at all."""
        with self._location.writing() as tmp, open(tmp, "wb") as handle:
            np.save(handle, np.asarray(data), allow_pickle=False)
