"""Metrics that reach MLflow while training runs, handed to the train node as a callable.

A node's outputs are saved only when it returns, so metric histories saved as outputs
appear in MLflow only after the last step, and a killed run keeps none. Like the
checkpoint folder, this dataset gives the node a handle instead of data: calling it logs
``{name: value}`` at a step to the active MLflow run (kedro-mlflow's), at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from kedro.io import AbstractDataset, DatasetError

#: What the train node receives: ``log(step, {"val_accuracy": 0.98, ...})``.
MetricsLogger = Callable[[int, Mapping[str, float]], None]


def log_to_active_run(step: int, metrics: Mapping[str, float]) -> None:
    """Log the finite ``metrics`` at ``step`` to the active MLflow run, if one is open."""
    import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

    finite = {name: float(value) for name, value in metrics.items() if math.isfinite(value)}
    if finite and mlflow.active_run() is not None:
        mlflow.log_metrics(finite, step=int(step))


class MlflowLiveMetricsDataset(AbstractDataset[None, MetricsLogger]):
    """``load`` returns a function logging metrics at a step to the active MLflow run.

    Values that are not finite (the training loss before the first step) are left out,
    as MLflow's charts cannot show them; without an active run nothing is logged.
    """

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        """Create the dataset; ``metadata`` is free-form (e.g. for kedro-viz)."""
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"sink": "active MLflow run"}

    def _exists(self) -> bool:
        return True  # the logging function is always there to load

    def load(self) -> MetricsLogger:
        """The logging function."""
        return log_to_active_run

    def save(self, data: Any) -> None:
        """Metrics are logged through the loaded function, never saved to."""
        raise DatasetError("live metrics are logged by training through the loaded function")
