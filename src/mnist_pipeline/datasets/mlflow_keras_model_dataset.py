"""Log a Keras model to MLflow with a signature derived from the model itself."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import numpy as np
from kedro_mlflow.io.models import MlflowModelTrackingDataset


def _installed_requirements() -> list[str]:
    """Pin what the model needs to be loaded to the versions that saved it."""
    return [f"{name}=={version(name)}" for name in ("tensorflow", "keras")]


class MlflowKerasModelDataset(MlflowModelTrackingDataset):
    """``MlflowModelTrackingDataset`` for the ``mlflow.keras`` flavour, with a tensor signature.

    MLflow's Keras flavour wants a ``ModelSignature`` object, which YAML cannot express;
    this subclass builds it from the model's input and output shapes at save time, so the
    logged model documents (and enforces, when served) what it takes and returns. Give
    ``pip_requirements`` in ``save_args`` to override the default (the installed
    tensorflow and keras): without any, MLflow spends seconds inferring them.
    """

    def __init__(self, **kwargs: Any) -> None:
        """Create the dataset; takes the arguments of ``MlflowModelTrackingDataset`` but flavor."""
        super().__init__(flavor="mlflow.keras", **kwargs)

    def _save(self, model: Any) -> None:
        from mlflow.models import ModelSignature  # noqa: PLC0415
        from mlflow.types import Schema, TensorSpec  # noqa: PLC0415

        def spec(shape: tuple, name: str) -> Schema:
            return Schema([TensorSpec(np.dtype(np.float32), (-1, *shape[1:]), name)])

        signature = ModelSignature(
            inputs=spec(tuple(model.input_shape), "pixels"),
            outputs=spec(tuple(model.output_shape), "logits"),
        )
        self._save_args = {
            "pip_requirements": _installed_requirements(),
            **self._save_args,
            "signature": signature,
        }
        super()._save(model)
