"""Test-set metrics and the tables and plots a person looks at to judge the model.

The logits come from :func:`..inference.nodes.predict_logits`, the served model's own
step; the metrics are scikit-learn's, on them, so the reports can be recomputed and
tested without TensorFlow. Plots are built as standalone ``Figure`` objects, not through
``pyplot``: no global figure state, no display backend needed on servers, and the
notebook's inline backend is left alone. scikit-learn and matplotlib are imported when a
node first needs them, not with this module: every ``kedro`` command imports the
pipelines, and the runs that score and draw nothing (``ingest``, ``preprocess``,
``train``) should not pay for them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..inference.confidence import softmax
from ..register.nodes import version_tags

logger = logging.getLogger(__name__)


class Figure(Protocol):
    """What a plot node returns: a matplotlib ``Figure`` (named by what it does here, so
    that its type is known without importing matplotlib)."""

    def savefig(self, fname, **kwargs) -> None:
        """Render the figure to ``fname``."""


def lineage_tags(registration: Mapping[str, Any] | None) -> dict[str, str]:
    """The evaluation run's tags naming the training run and registered version of the
    model it judges (``model_registration.json``), or none for a model never registered."""
    if registration is None:
        logger.warning(
            "The model in data/06_models/ was never registered in MLflow: "
            "its training run is not known."
        )
        return {}
    logger.info(
        "Using the model of training run %s (%s)",
        registration["training_run_id"],
        registration["model_uri"],
    )
    return version_tags(
        registration["training_run_id"], registration["model_uri"], registration["version"]
    )


def _classes(y_test: np.ndarray) -> list[int]:
    return list(range(y_test.shape[1]))


def score_test_set(logits: np.ndarray, y_test: np.ndarray) -> tuple[float, float]:
    """Accuracy and mean cross-entropy (without the L2 term) of the logits on one-hot labels."""
    from sklearn.metrics import accuracy_score, log_loss  # noqa: PLC0415 (see the docstring)

    labels = y_test.argmax(axis=1)
    accuracy = float(accuracy_score(labels, logits.argmax(axis=1)))
    loss = float(log_loss(labels, softmax(logits), labels=_classes(y_test)))
    return accuracy, loss


def confusion_matrix(logits: np.ndarray, y_test: np.ndarray) -> pd.DataFrame:
    """Counts of (true class, predicted class): rows true, columns predicted."""
    from sklearn import metrics  # noqa: PLC0415

    classes = _classes(y_test)
    matrix = metrics.confusion_matrix(
        y_test.argmax(axis=1), logits.argmax(axis=1), labels=classes
    ).astype(np.int64)
    names = [str(c) for c in classes]
    return pd.DataFrame(
        matrix,
        index=pd.Index(names, name="true"),
        columns=pd.Index(names, name="predicted"),
    )


def per_class_report(logits: np.ndarray, y_test: np.ndarray) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, plus macro and weighted averages."""
    from sklearn.metrics import classification_report  # noqa: PLC0415

    classes = _classes(y_test)
    report = classification_report(
        y_test.argmax(axis=1),
        logits.argmax(axis=1),
        labels=classes,
        output_dict=True,
        zero_division=0.0,
    )
    rows = [str(c) for c in classes] + ["macro avg", "weighted avg"]
    return pd.DataFrame(
        {
            "class": rows,
            "precision": [report[row]["precision"] for row in rows],
            "recall": [report[row]["recall"] for row in rows],
            "f1": [report[row]["f1-score"] for row in rows],
            "support": [int(report[row]["support"]) for row in rows],
        }
    )


def _figure(width: float, height: float):
    """A new standalone figure of that size in inches, at the reports' resolution."""
    from matplotlib.figure import Figure as MatplotlibFigure  # noqa: PLC0415 (docstring)

    return MatplotlibFigure(figsize=(width, height), dpi=110)


def plot_confusion_matrix(confusion: pd.DataFrame) -> Figure:
    """Heat map of the confusion matrix on a log colour scale, counts written in each cell."""
    from matplotlib.colors import LogNorm  # noqa: PLC0415

    matrix = confusion.to_numpy()
    figure = _figure(7.5, 6.5)
    axes = figure.subplots()
    image = axes.imshow(
        np.maximum(matrix, 0.5), cmap="Blues", norm=LogNorm(vmin=0.5, vmax=matrix.max())
    )
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            dark = count > matrix.max() ** 0.5
            axes.text(
                col,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
    ticks = np.arange(len(confusion))
    axes.set_xticks(ticks, confusion.columns)
    axes.set_yticks(ticks, confusion.index)
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    accuracy = np.trace(matrix) / matrix.sum()
    axes.set_title(f"Confusion matrix on {matrix.sum():,} test digits (accuracy {accuracy:.2%})")
    figure.colorbar(image, ax=axes, label="count (log scale)")
    figure.tight_layout()
    return figure


def plot_learning_curve(history: pd.DataFrame) -> Figure:
    """Validation accuracy of the averaged model and the learning rate, against the step."""
    figure = _figure(8, 4.5)
    accuracy_axes = figure.subplots()
    accuracy_axes.plot(
        history["step"],
        history["val_accuracy"],
        marker="o",
        color="tab:blue",
        label="validation accuracy (averaged weights)",
    )
    accuracy_axes.set_xlabel("training step")
    accuracy_axes.set_ylabel("validation accuracy", color="tab:blue")
    trained = history[history["step"] > 0]
    if len(trained):
        low = max(0.0, float(trained["val_accuracy"].min()) - 0.01)
        accuracy_axes.set_ylim(low, 1.0)
    accuracy_axes.grid(alpha=0.3)
    rate_axes = accuracy_axes.twinx()
    rate_axes.plot(
        history["step"], history["learning_rate"], color="tab:orange", label="learning rate"
    )
    rate_axes.set_ylabel("learning rate", color="tab:orange")
    best = history.loc[history["val_accuracy"].idxmax()]
    accuracy_axes.set_title(
        f"Learning curve: best validation accuracy {best['val_accuracy']:.4f} "
        f"at step {int(best['step'])}"
    )
    lines = accuracy_axes.get_lines() + rate_axes.get_lines()
    accuracy_axes.legend(lines, [line.get_label() for line in lines], loc="lower right")
    figure.tight_layout()
    return figure


def plot_confident_mistakes(
    x_test: np.ndarray, y_test: np.ndarray, logits: np.ndarray, count: int
) -> Figure:
    """Grid of the misclassified test digits the model was most sure of."""
    probabilities = softmax(logits)
    predicted = probabilities.argmax(axis=1)
    labels = y_test.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    chosen = wrong[np.argsort(-confidence, kind="stable")][:count]
    side = int(round(np.sqrt(x_test.shape[1])))
    columns = min(8, max(1, len(chosen)))
    rows = max(1, int(np.ceil(len(chosen) / columns)))
    figure = _figure(1.6 * columns, 1.9 * rows + 0.5)
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for axis, index in zip(axes.ravel(), chosen, strict=False):  # more axes than digits
        axis.imshow(x_test[index].reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
        axis.set_title(
            f"true {labels[index]}, pred {predicted[index]}\n"
            f"p={probabilities[index, predicted[index]]:.3f}",
            fontsize=8,
        )
    figure.suptitle(
        f"The {len(chosen)} most confidently misclassified of {len(wrong)} errors "
        f"in {len(labels):,} test digits"
    )
    figure.tight_layout()
    return figure
