"""Beyond the test accuracy: the shifted test slice, calibration, and "not a digit".

Reported by ``evaluate`` for the model it judges, with the temperature and rejection
threshold fitted when it was trained (``model_confidence``):

- the accuracy on the shifted test slice (``x_test_shifted``: :mod:`..preprocess.shifted`);
- the expected calibration error (15 bins) of its probabilities before and after
  temperature scaling, and a reliability diagram of both;
- how many real test digits it turns away, and how well its digit-likeness tells digits
  from Fashion-MNIST's clothes (when Debian's ``dataset-fashion-mnist`` is installed) and
  from letters, scribbles and noise drawn by a program (:mod:`.non_digits`): the AUROC,
  and the share turned away at the threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..inference.confidence import (
    CALIBRATION_BINS,
    Confidence,
    expected_calibration_error,
    reliability,
    softmax,
)
from .nodes import Figure, _figure


def _metric(value: float) -> dict[str, float]:
    return {"value": float(value), "step": 0}


def calibration_report(
    test_logits: np.ndarray, y_test: np.ndarray, confidence: Mapping[str, Any]
) -> tuple[dict[str, dict[str, float]], Figure]:
    """The expected calibration error on the test set before and after temperature
    scaling (metrics ``evaluation_calibration_error_before``/``_after``), and the
    reliability diagram of both."""
    labels = y_test.argmax(axis=1)
    model = Confidence.from_dict(confidence)
    before, after = softmax(test_logits), model.probabilities(test_logits)
    errors = (expected_calibration_error(before, labels), expected_calibration_error(after, labels))
    figure = _figure(6, 5)
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    for name, probabilities in (
        ("logits as trained (T = 1)", before),
        (f"temperature-scaled (T = {model.temperature:.3f})", after),
    ):
        table = reliability(probabilities, labels)
        used = table["count"] > 0
        axes.plot(table["confidence"][used], table["accuracy"][used], marker="o", label=name)
    axes.set_xlabel(f"confidence (the top probability), {CALIBRATION_BINS} bins")
    axes.set_ylabel("accuracy in the bin")
    axes.set_title(f"Reliability on the test set: ECE {errors[0]:.4f} -> {errors[1]:.4f}")
    axes.legend(loc="upper left")
    figure.tight_layout()
    metrics = {
        "evaluation_calibration_error_before": _metric(errors[0]),
        "evaluation_calibration_error_after": _metric(errors[1]),
        "evaluation_temperature": _metric(model.temperature),
    }
    return metrics, figure


def _auroc(digits: np.ndarray, others: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    truth = np.r_[np.ones(len(digits)), np.zeros(len(others))]
    return float(roc_auc_score(truth, np.r_[digits, others]))


#: How each kind of image is named in the report.
KINDS = {
    "fashion_mnist": "Fashion-MNIST test images",
    "letters": "letters (3 typefaces)",
    "scribbles": "random pen scribbles",
    "noise": "random pixels",
}


def robustness_report(
    test_logits: np.ndarray,
    shifted_logits: np.ndarray,
    y_test: np.ndarray,
    outside_logits: Mapping[str, np.ndarray],
    confidence: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """The test digits, their shifted slice, and each kind of non-digit in
    ``outside_logits`` (kind -> logits; a kind with no rows is left out): how many, the
    accuracy on digits, the share turned away as "not a digit" at the model's threshold,
    and for non-digits the AUROC of digit-likeness against the test digits. A table,
    and its figures as metrics (``evaluation_shifted_test_accuracy``,
    ``evaluation_test_rejected``, ``evaluation_<kind>_rejected``/``_auroc``)."""
    model = Confidence.from_dict(confidence)
    labels = y_test.argmax(axis=1)
    rows, metrics = [], {}
    for key, name, logits in (
        ("test", "MNIST test digits", test_logits),
        ("shifted_test", "MNIST test digits, shifted", shifted_logits),
    ):
        likeness = model.digit_likeness(logits)
        accuracy = float(np.mean(logits.argmax(axis=1) == labels))
        rejected = float(model.rejected(likeness).mean())
        rows.append(
            {
                "images": name,
                "count": len(logits),
                "accuracy": accuracy,
                "rejected": rejected,
                "auroc": np.nan,
            }
        )
        if key != "test":  # score_test_set logs evaluation_test_accuracy: one value a key
            metrics[f"evaluation_{key}_accuracy"] = _metric(accuracy)
        metrics[f"evaluation_{key}_rejected"] = _metric(rejected)
    for key, logits in outside_logits.items():
        if len(logits) == 0:
            continue
        likeness = model.digit_likeness(logits)
        rejected = float(model.rejected(likeness).mean())
        auroc = _auroc(model.digit_likeness(test_logits), likeness)
        rows.append(
            {
                "images": KINDS.get(key, key),
                "count": len(logits),
                "accuracy": np.nan,
                "rejected": rejected,
                "auroc": auroc,
            }
        )
        metrics[f"evaluation_{key}_rejected"] = _metric(rejected)
        metrics[f"evaluation_{key}_auroc"] = _metric(auroc)
    return pd.DataFrame(rows), metrics


def outside_images(
    fashion_mnist: np.ndarray | None, non_digits: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Every kind of non-digit as model input rows (flattened, in [0, 1]): Fashion-MNIST's
    test images when they are installed, and the program's (:mod:`.non_digits`)."""
    kinds = (
        {}
        if fashion_mnist is None
        else {
            "fashion_mnist": fashion_mnist.reshape(len(fashion_mnist), -1).astype(np.float32)
            / 255.0
        }
    )
    return {**kinds, **non_digits}


def predict_outside_logits(model: Any, images: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's logits for each kind of non-digit."""
    from ..inference.nodes import predict_logits  # noqa: PLC0415

    return {kind: predict_logits(model, rows) for kind, rows in images.items()}


def make_non_digits(settings: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """:func:`.non_digits.non_digit_images` with ``evaluate.non_digits``'s count and seed."""
    from .non_digits import non_digit_images  # noqa: PLC0415

    return non_digit_images(int(settings["count"]), int(settings["seed"]))
