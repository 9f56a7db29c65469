"""kedro-datasets' file datasets, saving whole-or-nothing.

``pandas.CSVDataset``, ``json.JSONDataset`` and ``matplotlib.MatplotlibDataset`` write
straight into their target file, so a run killed mid-save leaves a truncated report that
looks like a good one. These subclasses change only that: they write a temporary sibling
and rename it into place (:mod:`.atomic`). Loading, versioning and options are the
parent's, and so is the filesystem: a local path or any fsspec URL (:mod:`.storage`).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset
from matplotlib.figure import Figure

from .storage import Location


def _target(dataset: CSVDataset | JSONDataset | MatplotlibDataset) -> Location:
    """Where ``dataset`` saves, on the filesystem it was configured with."""
    return Location.on(dataset._fs, dataset._protocol, dataset._get_save_path())


class AtomicCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose saves are atomic."""

    def save(self, data: pd.DataFrame) -> None:
        """Write the CSV whole or not at all (:mod:`.storage`)."""
        with _target(self).writing() as tmp:
            data.to_csv(tmp, **self._save_args)
        self._invalidate_cache()


class AtomicJSONDataset(JSONDataset):
    """``json.JSONDataset`` whose saves are atomic."""

    def save(self, data: Any) -> None:
        """Write the JSON whole or not at all (:mod:`.storage`)."""
        with _target(self).writing() as tmp, open(tmp, "w") as handle:
            json.dump(data, handle, **self._save_args)
        self._invalidate_cache()


class AtomicMatplotlibDataset(MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` whose single-figure saves are atomic."""

    def save(self, data: Figure | list | dict) -> None:
        """Render one figure, saved whole or not at all (:mod:`.storage`)."""
        if not isinstance(data, Figure):
            super().save(data)  # several figures: the parent's folder layout
            return
        target = _target(self)
        save_args = {"format": target.path.suffix.lstrip(".") or "png", **self._save_args}
        with target.writing() as tmp:
            data.savefig(tmp, **save_args)
        self._invalidate_cache()
