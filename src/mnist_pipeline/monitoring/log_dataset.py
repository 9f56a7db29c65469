"""The prediction log as a catalog dataset: every record of its folder, read-only.

The served model, ``predict`` and the drawing page write the log themselves
(:class:`mnist_pipeline.monitoring.prediction_log.PredictionLog`, one writer per process);
the ``monitor`` pipeline reads it through this dataset.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from .prediction_log import read_prediction_log


class PredictionLogDataset(AbstractDataset[None, pd.DataFrame]):
    """Loads every record of the prediction log in ``location`` (a folder: a local path
    or any fsspec URL), oldest first; no rows when there is none yet.

    Example catalog entry::

        prediction_log:
          type: mnist_pipeline.monitoring.PredictionLogDataset
          location: ${globals:prediction_log}
    """

    def __init__(self, location: str, metadata: dict[str, Any] | None = None) -> None:
        """The log's folder."""
        self._location = str(location)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"location": self._location}

    def load(self) -> pd.DataFrame:
        """Every record written so far."""
        return read_prediction_log(self._location)

    def save(self, data: None) -> None:
        """The log is written by the models that answer, never by a pipeline."""
        raise DatasetError(
            "The prediction log is written by the models that answer (the served model, "
            "predict, the drawing page), not by a pipeline node."
        )
