"""Make a user's image files MNIST-like and tabulate the champion model's predictions.

Each file is prepared by :func:`~mnist_pipeline.pipelines.inference.images.mnist_like_or_error`,
the one preparation of a user's image that the served model and the drawing page use too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from mnist_pipeline.pipelines.inference.images import IMAGE_SIDE, mnist_like_or_error
from mnist_pipeline.pipelines.inference.nodes import (
    PREDICTION_COLUMNS,
    ask_served_model,
    merge_predictions,
)
from mnist_pipeline.pipelines.register.nodes import version_tags

logger = logging.getLogger(__name__)

#: Columns of ``predictions.csv``.
REPORT_COLUMNS = ["file", *PREDICTION_COLUMNS, "error"]


def prepare_digit_images(
    partitions: Mapping[str, Callable[[], Image.Image]], parameters: Mapping[str, Any]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Make every image file MNIST-like; note why the others cannot be.

    Returns:
        The MNIST-like images of the files that could be read, (N, 28, 28) uint8, and a
        table of every file in name order with its ``error`` (empty when it was read).
    """
    names = sorted(partitions)
    prepared = [mnist_like_or_error(partitions[name], parameters) for name in names]
    images = [image for image, _ in prepared if image is not None]
    stacked = np.stack(images) if images else np.zeros((0, IMAGE_SIDE, IMAGE_SIDE), np.uint8)
    return stacked, pd.DataFrame({"file": names, "error": [error for _, error in prepared]})


def predict_digits(champion: Any, images: np.ndarray) -> pd.DataFrame:
    """The champion's prediction table for ``images`` (empty when there are none).

    ``champion.model`` is the served pyfunc model: it takes pixel values as float64, and
    logs its answers as ``predict``'s (:mod:`mnist_pipeline.monitoring.prediction_log`).
    """
    if len(images) == 0:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    answers = ask_served_model(
        champion.model, images.astype(np.float64), source="predict", version=champion.version
    )
    return pd.DataFrame(answers)


def champion_tags(champion: Any) -> dict[str, str]:
    """The predict run's tags naming the champion version that answered."""
    logger.info(
        "Using %s@champion: version %s, trained in run %s",
        champion.name,
        champion.version,
        champion.run["run_id"],
    )
    return version_tags(champion.run["run_id"], champion.model_uri, champion.version)


def report_predictions(files: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per file: its prediction (no digit when it is rejected as not a digit, and
    the reason), or its error and no digit."""
    report = merge_predictions(files, predictions)
    failed = int((files["error"] != "").sum())
    logger.info(
        "Predicted %d of %d image file(s); %d could not be read (see their error column), "
        "%d are not like any digit (see their reason column)",
        len(files) - failed,
        len(files),
        failed,
        int(report["rejected"].sum()),
    )
    return report[REPORT_COLUMNS]
