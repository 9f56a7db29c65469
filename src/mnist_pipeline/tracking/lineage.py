"""Which data and which model a run uses.

:class:`LineageHook` watches a run without touching the catalog's data: before it starts,
a trained model the pipeline reads must exist (else one message, and no MLflow run is
opened); while it runs, each data split a node reads is logged through MLflow's dataset
tracking (the train, validation and test splits, with digests from the raw IDX files'
SHA-256 and the preprocessing's ``validation_size``), and so is the folder of images
``predict`` classifies; runs that train get MLflow's system metrics (CPU, memory).

Which registered version a run used is told by the pipelines themselves: ``evaluate``
tags its run from ``model_registration.json``, ``predict`` from the champion it loaded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

from kedro.framework.hooks import hook_impl

from mnist_pipeline.errors import UserFacingError

from .model import CHAMPION_ALIAS, REGISTERED_MODEL_NAME

#: The trained models a run may read, and what is missing when one is.
MODELS = {
    "mnist_model": "There is no trained model yet (mnist_model is not in data/06_models/)",
    "champion_model": "There is no {model}@{alias} model in the MLflow registry ({store}) yet",
}
#: The output that marks a run that trains (its system metrics are logged).
TRAINED_MODEL = "mnist_model"
#: Model-input arrays -> (split, their raw IDX files, and the context MLflow shows).
SPLITS = {
    "x_train": ("train", ("raw_train_images", "raw_train_labels"), "y_train"),
    "x_val": ("validation", ("raw_train_images", "raw_train_labels"), "y_val"),
    "x_test": ("test", ("raw_test_images", "raw_test_labels"), "y_test"),
}
#: The folder of a user's images that ``predict`` reads.
NEW_IMAGES = "new_digit_images"


class ModelNotTrainedError(UserFacingError, RuntimeError):
    """A pipeline needs a trained model and there is none yet."""


def split_digest(split: str, raw_sha256: tuple[str, str], validation_size: int) -> str:
    """The digest of one split: which raw files (their SHA-256) and how it was cut from them."""
    text = f"{split}:{raw_sha256[0]}:{raw_sha256[1]}:validation_size={validation_size}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def local_source(path: str) -> Any:
    """MLflow's dataset source for a local file or folder (given as such: MLflow registers
    that kind twice, and a bare path would make it warn that it cannot tell which)."""
    from mlflow.data.dataset_source_registry import get_registered_sources  # noqa: PLC0415

    kind = next(s for s in get_registered_sources() if s.__name__ == "LocalArtifactDatasetSource")
    return kind(str(path))


def files_digest(names: list[str]) -> str:
    """The digest of a folder's file list."""
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:16]


def _log_input(dataset, **kwargs) -> None:
    """``mlflow.log_input``, once more when runs that log the same dataset at the same moment
    raced to create its record on a tracking server's database (MLflow's SQL store inserts
    it if a query found none; the loser's insert violates the unique key): the second
    call finds the record and only ties it to this run."""
    import mlflow  # noqa: PLC0415
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        mlflow.log_input(dataset, **kwargs)
    except MlflowException as exc:
        if "duplicate key" not in str(exc) and "UNIQUE constraint" not in str(exc):
            raise
        mlflow.log_input(dataset, **kwargs)


class LineageHook:
    """A run's trained model checked before it starts; the data it reads logged to MLflow."""

    def __init__(self) -> None:
        """Know no raw files and no split yet."""
        self._raw: dict[str, Mapping[str, Any]] = {}
        self._validation_size = 0
        self._logged: set[str] = set()

    @hook_impl
    def after_context_created(self, context) -> None:
        """How the validation split was cut (from the configuration, not the catalog)."""
        preprocess = context.params.get("preprocess") or {}
        self._validation_size = int(preprocess.get("validation_size", 0))

    @hook_impl
    def after_catalog_created(self, conf_catalog: dict[str, Any]) -> None:
        """Each raw file's path and SHA-256, as the catalog's configuration gives them."""
        self._raw = {
            name: conf_catalog[name]
            for _, raw, _ in SPLITS.values()
            for name in raw
            if isinstance(conf_catalog.get(name), Mapping)
        }

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline, catalog) -> None:
        """Before kedro-mlflow opens the run (``tryfirst``): the models it reads exist;
        system metrics on for runs that train."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        for name, missing in MODELS.items():
            if name in pipeline.inputs() and not catalog.exists(name):
                what = missing.format(
                    model=REGISTERED_MODEL_NAME,
                    alias=CHAMPION_ALIAS,
                    store=mlflow.get_tracking_uri(),
                )
                raise ModelNotTrainedError(f"{what}: run `kedro run` first to train one.")
        trains = TRAINED_MODEL in pipeline.all_outputs()
        os.environ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] = str(trains).lower()
        self._logged = set()

    @hook_impl
    def before_node_run(self, node, inputs) -> None:
        """Log each split (or image folder) the node reads, once per run."""
        import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

        if mlflow.active_run() is None:
            return
        for name in node.inputs:
            if name in self._logged:
                continue
            if name in SPLITS and SPLITS[name][2] in inputs:
                self._log_split(name, inputs[name], inputs[SPLITS[name][2]])
            elif name == NEW_IMAGES:
                self._log_folder(sorted(inputs[name]))
            else:
                continue
            self._logged.add(name)

    def _log_split(self, name: str, features, targets) -> None:
        import mlflow  # noqa: PLC0415

        split, (images, labels), _ = SPLITS[name]
        raw = (self._raw.get(images, {}), self._raw.get(labels, {}))
        checksums = (raw[0].get("sha256") or "unchecked", raw[1].get("sha256") or "unchecked")
        dataset = mlflow.data.from_numpy(
            features,
            targets=targets,
            source=local_source(raw[0].get("filepath", "data/05_model_input")),
            name=f"mnist-{split}",
            digest=split_digest(split, checksums, self._validation_size),
        )
        context = {"train": "training", "validation": "validation", "test": "test"}[split]
        tags = {
            "images_sha256": checksums[0],
            "labels_sha256": checksums[1],
            "preprocess.validation_size": str(self._validation_size),
        }
        _log_input(dataset, context=context, tags=tags)

    def _log_folder(self, names: list[str]) -> None:
        import mlflow  # noqa: PLC0415
        import pandas as pd  # noqa: PLC0415

        dataset = mlflow.data.from_pandas(
            pd.DataFrame({"file": names}),
            source=local_source("data/01_raw/new_digits"),
            name="new-digits",
            digest=files_digest(names),
        )
        _log_input(dataset, context="prediction")
