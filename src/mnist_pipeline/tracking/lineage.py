"""Tie a run to the model and the data it uses.

``kedro run --pipeline=evaluate`` uses the latest trained ``mnist_model``; the registry
hook (:mod:`.registry`) recorded which training run and registry version it is, and
``ModelLineageHook`` tags the evaluation's run with them (``training_run_id``,
``registered_model_version``, ``model_uri``); a ``predict`` run is tagged the same way
with the champion version it used.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Any

from kedro.framework.hooks import hook_impl

from mnist_pipeline.errors import UserFacingError

from .model import CHAMPION_ALIAS, REGISTERED_MODEL_NAME, registered_model_uri
from .registry import MODEL_DATASET, REGISTRATION_DATASET
from .run_tags import PendingRunTags

logger = logging.getLogger(__name__)

#: The registry's champion, as the ``predict`` pipeline loads it.
CHAMPION_DATASET = "champion_model"


class ModelNotTrainedError(UserFacingError, RuntimeError):
    """A pipeline needs a trained model and there is none yet."""


class ModelLineageHook(PendingRunTags):
    """Check a trained model exists before it is used, and tag the run with its lineage
    (the tags are set before the first node: :class:`.run_tags.PendingRunTags`)."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline, catalog) -> None:
        """Before any run starts (and before an MLflow run is opened), find the model."""
        self.pending_tags = {}
        if CHAMPION_DATASET in pipeline.inputs():
            self.pending_tags = _champion_lineage()
        if MODEL_DATASET not in pipeline.inputs():
            return
        if not catalog.exists(MODEL_DATASET):
            raise ModelNotTrainedError(
                f"There is no trained model yet ({MODEL_DATASET} is not in data/06_models/): "
                "run `kedro run` first to train one."
            )
        if not catalog.exists(REGISTRATION_DATASET):
            logger.warning(
                "The model in data/06_models/ was never registered in MLflow: "
                "its training run is not known."
            )
            return
        registration = catalog.load(REGISTRATION_DATASET)
        self.pending_tags = _lineage_tags(registration["training_run_id"], registration["version"])
        logger.info(
            "Using the model of training run %s (%s)",
            registration["training_run_id"],
            registration["model_uri"],
        )


def _champion_lineage() -> dict[str, str]:
    """Which registry version the champion alias points at now, for the run's tags."""
    import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        version = mlflow.MlflowClient().get_model_version_by_alias(
            REGISTERED_MODEL_NAME, CHAMPION_ALIAS
        )
    except MlflowException:
        raise ModelNotTrainedError(
            f"There is no {REGISTERED_MODEL_NAME}@{CHAMPION_ALIAS} model in the MLflow "
            f"registry ({mlflow.get_tracking_uri()}) yet: run `kedro run` first to train one."
        ) from None
    logger.info(
        "Using %s@%s: version %s, trained in run %s",
        REGISTERED_MODEL_NAME,
        CHAMPION_ALIAS,
        version.version,
        version.run_id,
    )
    return _lineage_tags(version.run_id, version.version)


def _lineage_tags(training_run_id: str, version: int | str) -> dict[str, str]:
    """The tags that tie a run to the registered model version it used."""
    return {
        "training_run_id": training_run_id,
        "registered_model_version": str(version),
        "model_uri": registered_model_uri(version),
    }


#: Model-input arrays -> (split, their raw IDX files, and the context MLflow shows).
SPLITS = {
    "x_train": ("train", ("raw_train_images", "raw_train_labels"), "y_train"),
    "x_val": ("validation", ("raw_train_images", "raw_train_labels"), "y_val"),
    "x_test": ("test", ("raw_test_images", "raw_test_labels"), "y_test"),
}
#: The folder of a user's images that ``predict`` reads.
NEW_IMAGES = "new_digit_images"


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


class DataLineageHook:
    """Log, through MLflow's dataset tracking, which data each run read: the train,
    validation and test splits (digests from the raw IDX files' SHA-256 and the
    preprocessing parameters), or the folder of images ``predict`` classified; and turn on
    MLflow's system metrics (CPU, memory) for the runs that train a model."""

    def __init__(self) -> None:
        """Know no raw files yet."""
        self._raw: dict[str, dict[str, Any]] = {}
        self._validation_size = 0
        self._logged: set[str] = set()

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline, catalog) -> None:
        """Before kedro-mlflow starts the run (``tryfirst``): system metrics for training
        runs; the raw files' checksums and the split's setting, for the digests."""
        trains = "mnist_model" in pipeline.all_outputs()
        os.environ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] = str(trains).lower()
        self._logged = set()
        self._raw = {
            name: catalog.get(name)._describe()  # filepath and sha256
            for _, raw, _ in SPLITS.values()
            for name in raw
            if name in catalog
        }
        parameters = catalog.get("parameters").load()
        self._validation_size = int((parameters.get("preprocess") or {}).get("validation_size", 0))

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
        mlflow.log_input(dataset, context=context, tags=tags)

    def _log_folder(self, names: list[str]) -> None:
        import mlflow  # noqa: PLC0415
        import pandas as pd  # noqa: PLC0415

        dataset = mlflow.data.from_pandas(
            pd.DataFrame({"file": names}),
            source=local_source("data/01_raw/new_digits"),
            name="new-digits",
            digest=files_digest(names),
        )
        mlflow.log_input(dataset, context="prediction")
