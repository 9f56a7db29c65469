"""A Kedro dataset for one NumPy array in a ``.npy`` file (kedro-datasets has none)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from kedro.io import AbstractDataset

from mnist_pipeline.errors import DataFileError

from .atomic import atomic_file


class NumpyDataset(AbstractDataset[np.ndarray, np.ndarray]):
    """Saves and loads a single array as ``.npy``, atomically and without pickle.

    ``allow_pickle`` is always off: a ``.npy`` that needs unpickling is refused rather than
    executed. ``mmap_mode`` (e.g. ``r``) memory-maps large arrays instead of reading them.
    """

    def __init__(
        self,
        filepath: str,
        mmap_mode: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            filepath: Local path of the ``.npy`` file.
            mmap_mode: Passed to :func:`numpy.load`; ``None`` reads the array into memory.
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._filepath = PurePosixPath(filepath)
        self._mmap_mode = mmap_mode
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "mmap_mode": self._mmap_mode}

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def load(self) -> np.ndarray:
        """Read the array; a missing or damaged file gives a message naming it."""
        path = Path(self._filepath)
        if not path.is_file():
            raise DataFileError(
                f"{self._filepath} does not exist: run the pipeline that produces it first "
                "(see `kedro registry list`)."
            )
        try:
            return np.load(path, mmap_mode=self._mmap_mode, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataFileError(
                f"{self._filepath} is not a readable .npy file ({exc}); delete it and "
                "rerun the pipeline that produces it."
            ) from exc

    def save(self, data: np.ndarray) -> None:
        """Write the array whole or not at all."""
        with atomic_file(self._filepath) as tmp, open(tmp, "wb") as handle:
            np.save(handle, np.asarray(data), allow_pickle=False)
