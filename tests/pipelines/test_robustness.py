"""Calibration, "not a digit" and the robustness report, on logits made by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_pipeline.pipelines.evaluate.non_digits import LETTERS, non_digit_images
from mnist_pipeline.pipelines.evaluate.robustness import (
    calibration_report,
    outside_images,
    robustness_report,
)
from mnist_pipeline.pipelines.inference.confidence import (
    Confidence,
    energy,
    expected_calibration_error,
    fit_confidence,
    fit_temperature,
    softmax,
)


def _overconfident(count: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits four times too large: each label is drawn from the softmax of logits ``z``
    (so ``z`` is calibrated by construction), and ``4 z`` is returned."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (count, 10))
    logits[np.arange(count), rng.integers(0, 10, count)] += 3.0
    probabilities = softmax(logits)
    labels = (probabilities.cumsum(1) < rng.random((count, 1))).sum(1)
    return 4.0 * logits, labels


def test_temperature_scaling_undoes_overconfidence():
    logits, labels = _overconfident()
    before = expected_calibration_error(softmax(logits), labels)
    temperature = fit_temperature(logits, labels)
    after = expected_calibration_error(softmax(logits, temperature), labels)
    assert temperature == pytest.approx(4.0, rel=0.15)
    assert before > 0.15 and after < 0.03
    # The digit never changes.
    np.testing.assert_array_equal(softmax(logits, temperature).argmax(1), logits.argmax(1))


def test_a_perfectly_calibrated_answer_has_no_calibration_error():
    probabilities = np.tile([0.75, 0.25], (8, 1))
    labels = np.array([0, 0, 0, 1] * 2)  # right 3 times in 4, said with 0.75
    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0)
    assert expected_calibration_error(probabilities, 1 - labels) == pytest.approx(0.5)


def test_the_reject_rate_is_the_share_of_validation_digits_turned_away():
    logits, labels = _overconfident(10_000)
    for rate in (0.0, 0.01, 0.05):
        confidence = fit_confidence(logits, labels, rate)
        turned_away = confidence.rejected(confidence.digit_likeness(logits)).mean()
        assert turned_away == pytest.approx(rate, abs=0.002)


def test_an_image_unlike_any_digit_is_turned_away_and_a_typical_one_is_not():
    logits, labels = _overconfident()
    confidence = fit_confidence(logits, labels, 0.01)
    flat = np.full((1, 10), logits.min())  # no evidence for any class: the lowest energy
    assert confidence.rejected(confidence.digit_likeness(flat)).all()
    typical = logits[[np.argsort(energy(logits, confidence.temperature))[len(logits) // 2]]]
    assert confidence.digit_likeness(typical)[0] == pytest.approx(0.5, abs=0.01)
    assert not confidence.rejected(confidence.digit_likeness(typical)).any()
    # More evidence is more digit-like (the threshold's direction).
    assert confidence.digit_likeness(typical * 2)[0] > confidence.digit_likeness(typical)[0]


def test_confidence_travels_as_json_unchanged():
    logits, labels = _overconfident(500)
    confidence = fit_confidence(logits, labels, 0.02)
    again = Confidence.from_dict(confidence.as_dict())
    np.testing.assert_array_equal(again.digit_likeness(logits), confidence.digit_likeness(logits))
    assert again.temperature == confidence.temperature and again.threshold == 0.02


def test_the_calibration_report_shows_both_errors():
    logits, labels = _overconfident()
    confidence = fit_confidence(logits, labels, 0.01).as_dict()
    metrics, figure = calibration_report(logits, np.eye(10)[labels], confidence)
    before = metrics["evaluation_calibration_error_before"]["value"]
    after = metrics["evaluation_calibration_error_after"]["value"]
    assert before > 0.15 and after < 0.03
    axes = figure.axes[0]
    assert f"ECE {before:.4f} -> {after:.4f}" in axes.get_title()
    labels_shown = [line.get_label() for line in axes.get_lines()]
    assert labels_shown[0] == "perfectly calibrated" and len(labels_shown) == 3


def test_the_robustness_report_scores_digits_and_each_kind_of_non_digit():
    logits, labels = _overconfident(2000)
    confidence = fit_confidence(logits, labels, 0.01).as_dict()
    rng = np.random.default_rng(1)
    outside = {
        "noise": rng.normal(0, 0.1, (300, 10)),  # no evidence: all turned away
        "letters": logits[:300],  # as digit-like as the digits: AUROC about 0.5
        "fashion_mnist": np.zeros((0, 10)),  # not installed: left out
    }
    shifted = logits.copy()
    shifted[:500] = shifted[:500, ::-1]
    table, metrics = robustness_report(logits, shifted, np.eye(10)[labels], outside, confidence)
    assert table["images"].tolist() == [
        "MNIST test digits",
        "MNIST test digits, shifted",
        "random pixels",
        "letters (3 typefaces)",
    ]
    assert metrics["evaluation_noise_rejected"]["value"] == 1.0
    assert metrics["evaluation_noise_auroc"]["value"] > 0.98
    assert metrics["evaluation_letters_auroc"]["value"] == pytest.approx(0.5, abs=0.05)
    assert metrics["evaluation_test_rejected"]["value"] == pytest.approx(0.01, abs=0.005)
    # The test accuracy is in the table; its metric is score_test_set's alone (one value
    # a key in a `__default__` run).
    assert "evaluation_test_accuracy" not in metrics
    accuracy = table.loc[table["images"] == "MNIST test digits", "accuracy"].item()
    assert metrics["evaluation_shifted_test_accuracy"]["value"] < accuracy
    assert "evaluation_fashion_mnist_auroc" not in metrics


def test_non_digits_are_mnist_like_images_from_one_seed():
    kinds = non_digit_images(count=5, seed=3)
    assert {kind: rows.shape for kind, rows in kinds.items()} == {
        "letters": (3 * len(LETTERS), 784),
        "scribbles": (5, 784),
        "noise": (5, 784),
    }
    for rows in kinds.values():
        assert rows.dtype == np.float32 and rows.min() >= 0.0 and rows.max() <= 1.0
    # Drawn as MNIST was: scaled into the central 20x20 box and centred by mass, so that
    # little ink reaches the outer 2 pixels.
    letters = kinds["letters"].reshape(-1, 28, 28)
    centre = letters[:, 2:-2, 2:-2].sum(axis=(1, 2))
    assert np.all(centre / letters.sum(axis=(1, 2)) > 0.9)
    again = non_digit_images(count=5, seed=3)
    np.testing.assert_array_equal(again["scribbles"], kinds["scribbles"])
    assert not np.array_equal(non_digit_images(5, 4)["scribbles"], kinds["scribbles"])


def test_fashion_mnist_joins_the_non_digits_when_installed():
    drawn = {"letters": np.zeros((2, 784), np.float32)}
    assert list(outside_images(None, drawn)) == ["letters"]
    fashion = np.full((3, 28, 28), 255, np.uint8)
    kinds = outside_images(fashion, drawn)
    assert list(kinds) == ["fashion_mnist", "letters"]
    assert kinds["fashion_mnist"].shape == (3, 784) and kinds["fashion_mnist"].max() == 1.0
