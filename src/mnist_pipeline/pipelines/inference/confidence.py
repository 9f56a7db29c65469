"""How far to trust an answer: calibrated probabilities, and "not a digit".

- **Calibration** (temperature scaling, Guo et al. 2017): every answer's logits are divided
  by one temperature ``T``, fitted on the validation split by minimising the
  cross-entropy, so that answers given with 90 % are right about nine times in ten. The
  digit never changes. :func:`expected_calibration_error` (15 equal-width bins of
  confidence) and :func:`reliability` tell how far confidence and accuracy part.
- **Rejection**: every image gets a *digit-likeness*: its energy score (Liu et al. 2020,
  ``T * logsumexp(logits / T)``: high where the network finds the evidence of some class)
  given as the share of validation digits whose score is lower: 0.5 is a typical digit,
  0.001 an image stranger than all but a thousandth of real digits. An image whose
  digit-likeness is below the threshold (``serving.reject_rate``: the share of real
  validation digits turned away, 1 % by default) is answered "not a digit", with its ten
  probabilities still.

The energy score was chosen over the largest probability (Hendrycks and Gimpel 2017) and
over a Mahalanobis distance of the penultimate features (Lee et al. 2018) by their AUROC
on non-digits made from MNIST's training split only (docs, "Not a digit").

Everything here is NumPy and SciPy on the logits the network gives; the fitted values
(:class:`Confidence`) travel with the served model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

#: Equal-width bins of confidence for the expected calibration error.
CALIBRATION_BINS = 15
#: Quantiles of the validation digits' scores kept to turn a score into a share.
SCORE_QUANTILES = 1001


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Class probabilities (float64) of logits divided by ``temperature``."""
    from scipy import special  # noqa: PLC0415 (only where probabilities are needed)

    return special.softmax(np.asarray(logits, np.float64) / temperature, axis=1)


def energy(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The energy score of each row of logits (the negative free energy): higher, more
    like the digits the network was trained on."""
    from scipy import special  # noqa: PLC0415

    return temperature * special.logsumexp(np.asarray(logits, np.float64) / temperature, axis=1)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the cross-entropy of ``logits`` on ``labels``."""
    from scipy.optimize import minimize_scalar  # noqa: PLC0415

    rows = np.arange(len(labels))

    def cross_entropy(log_temperature: float) -> float:
        probabilities = softmax(logits, float(np.exp(log_temperature)))
        return float(-np.log(probabilities[rows, labels] + 1e-12).mean())

    found = minimize_scalar(cross_entropy, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(found.x))


def reliability(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = CALIBRATION_BINS
) -> dict[str, np.ndarray]:
    """Per bin of confidence (the top probability): how many answers, their mean
    confidence and their accuracy (NaN in an empty bin)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, confidence, bins) / count
        accuracy = np.bincount(which, correct, bins) / count
    return {
        "lower": np.arange(bins) / bins,
        "count": count,
        "confidence": mean_confidence,
        "accuracy": accuracy,
    }


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """The answers' share-weighted gap between confidence and accuracy, over ``bins``
    equal-width bins of confidence."""
    table = reliability(probabilities, labels, bins)
    used = table["count"] > 0
    gaps = np.abs(table["confidence"][used] - table["accuracy"][used])
    return float(np.sum(table["count"][used] * gaps) / len(labels))


@dataclasses.dataclass(frozen=True)
class Confidence:
    """What a trained model carries to say how sure it is: its temperature, the quantiles
    of the validation digits' energy scores, and the digit-likeness under which an image
    is turned away."""

    temperature: float
    score_quantiles: np.ndarray  #: (SCORE_QUANTILES,) validation digits' energy scores
    threshold: float

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities."""
        return softmax(logits, self.temperature)

    def digit_likeness(self, logits: np.ndarray) -> np.ndarray:
        """The share of validation digits whose energy score is lower than each row's."""
        scores = energy(logits, self.temperature)
        return np.searchsorted(self.score_quantiles, scores, "left") / (
            len(self.score_quantiles) - 1
        )

    def rejected(self, likeness: np.ndarray) -> np.ndarray:
        """Whether each digit-likeness is below the threshold: not a digit."""
        return np.asarray(likeness) < self.threshold

    def as_dict(self) -> dict[str, Any]:
        """Plain lists and numbers (JSON), for the catalog and the served model."""
        return {
            "temperature": self.temperature,
            "score_quantiles": self.score_quantiles.tolist(),
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Confidence:
        """The inverse of :meth:`as_dict`."""
        return cls(
            temperature=float(values["temperature"]),
            score_quantiles=np.asarray(values["score_quantiles"], np.float64),
            threshold=float(values["threshold"]),
        )


def fit_confidence(
    val_logits: np.ndarray, val_labels: np.ndarray, reject_rate: float
) -> Confidence:
    """Fit the temperature on the validation split, and keep the quantiles of its digits'
    energy scores; images less digit-like than all but ``reject_rate`` of them are
    turned away."""
    temperature = fit_temperature(val_logits, val_labels)
    scores = energy(val_logits, temperature)
    quantiles = np.quantile(scores, np.linspace(0, 1, SCORE_QUANTILES))
    return Confidence(temperature, quantiles, float(reject_rate))
