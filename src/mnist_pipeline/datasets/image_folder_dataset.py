"""A folder of a user's image files, as kedro-datasets' ``PartitionedDataset`` reads it.

The only addition is the message when there is nothing to read: an empty or missing
folder is the first thing a new user meets, so it says where to put which files instead
of PartitionedDataset's bare "No partitions found".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kedro_datasets.partitions import PartitionedDataset

from mnist_pipeline.errors import DataFileError


class ImageFolderDataset(PartitionedDataset):
    """``partitions.PartitionedDataset`` of images whose empty folder is a clear error."""

    def load(self) -> dict[str, Callable[[], Any]]:
        """``{file name: function loading it}`` for every file but hidden ones."""
        partitions = {
            name: load
            for name, load in (super().load() if self._list_partitions() else {}).items()
            if not name.rsplit("/", 1)[-1].startswith(".")
        }
        if not partitions:
            raise DataFileError(
                f"There are no image files in {self._path}/: put the PNG, JPEG or BMP "
                "images of digits to classify there (any size; dark on light or light on "
                "dark), then run `kedro run --pipeline=predict` again."
            )
        return partitions
