"""kedro-datasets' file datasets, saving whole-or-nothing.

``pandas.CSVDataset``, ``json.JSONDataset`` and ``matplotlib.MatplotlibDataset`` write
straight into their target file, so a run killed mid-save leaves a truncated report that
looks like a good one. These subclasses change only that: they write a temporary sibling
and rename it into place (:mod:`.atomic`). Loading, versioning and options are the
parent's. Local paths only (the project keeps its data on disk).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset
from matplotlib.figure import Figure

from .atomic import atomic_file


class AtomicCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose saves are atomic."""

    def save(self, data: pd.DataFrame) -> None:
        """Write the CSV beside the target, then rename it into place."""
        with atomic_file(Path(self._get_save_path())) as tmp:
            data.to_csv(tmp, **self._save_args)
        self._invalidate_cache()


class AtomicJSONDataset(JSONDataset):
    """``json.JSONDataset`` whose saves are atomic."""

    def save(self, data: Any) -> None:
        """Write the JSON beside the target, then rename it into place."""
        with atomic_file(Path(self._get_save_path())) as tmp, open(tmp, "w") as handle:
            json.dump(data, handle, **self._save_args)
        self._invalidate_cache()


class AtomicMatplotlibDataset(MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` whose single-figure saves are atomic."""

    def save(self, data: Figure | list | dict) -> None:
        """Render one figure beside the target, then rename it into place."""
        if not isinstance(data, Figure):
            super().save(data)  # several figures: the parent's folder layout
            return
        target = Path(self._get_save_path())
        save_args = {"format": target.suffix.lstrip(".") or "png", **self._save_args}
        with atomic_file(target) as tmp:
            data.savefig(tmp, **save_args)
        self._invalidate_cache()
