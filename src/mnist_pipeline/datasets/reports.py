"""kedro-datasets' CSV, JSON, YAML and text datasets (reports, summaries), saving
whole-or-nothing.

``pandas.CSVDataset``, ``json.JSONDataset``, ``yaml.YAMLDataset`` and ``text.TextDataset``
write straight into their target file, so a run killed mid-save leaves a truncated
report that looks like a good one. These subclasses change only that: they write a
temporary sibling and rename it into place
(:mod:`.storage`). Loading, versioning and options are the parent's, and so is the
filesystem: a local path or any fsspec URL. The figures' dataset is in :mod:`.figures`,
so that a run which writes only tables does not import matplotlib.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import yaml
from kedro.io import AbstractVersionedDataset
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import CSVDataset
from kedro_datasets.text import TextDataset
from kedro_datasets.yaml import YAMLDataset

from .storage import Location


def save_location(dataset: AbstractVersionedDataset) -> Location:
    """Where ``dataset`` (a kedro-datasets file dataset) saves, on its configured filesystem."""
    return Location.on(dataset._fs, dataset._protocol, dataset._get_save_path())


class AtomicCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose saves are atomic."""

    def save(self, data: pd.DataFrame) -> None:
        """Write the CSV whole or not at all (:mod:`.storage`)."""
        with save_location(self).writing() as tmp:
            data.to_csv(tmp, **self._save_args)
        self._invalidate_cache()


class AtomicJSONDataset(JSONDataset):
    """``json.JSONDataset`` whose saves are atomic; with ``optional: true`` a file that does
    not exist loads as ``None`` (for a record a run may or may not have made)."""

    def __init__(self, *, optional: bool = False, **kwargs: Any) -> None:
        """``json.JSONDataset``'s arguments, and whether the file may be missing."""
        super().__init__(**kwargs)
        self._optional = optional

    def load(self) -> Any:
        """The JSON, or ``None`` for an optional file that does not exist."""
        if self._optional and not self._exists():
            return None
        return super().load()

    def save(self, data: Any) -> None:
        """Write the JSON whole or not at all (:mod:`.storage`)."""
        with save_location(self).writing() as tmp, open(tmp, "w") as handle:
            json.dump(data, handle, **self._save_args)
        self._invalidate_cache()


class AtomicYAMLDataset(YAMLDataset):
    """``yaml.YAMLDataset`` whose saves are atomic."""

    def save(self, data: Any) -> None:
        """Write the YAML whole or not at all (:mod:`.storage`)."""
        with save_location(self).writing() as tmp, open(tmp, "w") as handle:
            yaml.safe_dump(data, handle, **self._save_args)
        self._invalidate_cache()


class AtomicTextDataset(TextDataset):
    """``text.TextDataset`` whose saves are atomic (an HTML report)."""

    def save(self, data: str) -> None:
        """Write the text whole or not at all (:mod:`.storage`)."""
        with save_location(self).writing() as tmp:
            tmp.write_text(data, encoding="utf-8")
        self._invalidate_cache()
