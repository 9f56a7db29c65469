"""``evaluate``: node math on hand-made logits, and the pipeline on an in-memory catalog."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from mnist_pipeline.pipeline_registry import register_pipelines
from mnist_pipeline.pipelines.evaluate.nodes import (
    confusion_matrix,
    lineage_tags,
    per_class_report,
    plot_confident_mistakes,
    plot_confusion_matrix,
    plot_learning_curve,
    score_test_set,
)
from mnist_pipeline.pipelines.inference.confidence import fit_confidence

from ..conftest import in_memory_catalog

# Three classes, five examples: true 0,0,1,2,2; predicted 0,1,1,2,0.
LOGITS = np.array([[3, 0, 0], [0, 2, 0], [0, 5, 0], [0, 0, 1], [4, 0, 0]], dtype=np.float32)
Y = np.eye(3, dtype=np.float32)[[0, 0, 1, 2, 2]]


def test_accuracy_and_cross_entropy():
    accuracy, loss = score_test_set(LOGITS, Y)
    assert accuracy == pytest.approx(3 / 5)
    probabilities = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
    expected = -np.log(probabilities[np.arange(5), [0, 0, 1, 2, 2]]).mean()
    assert loss == pytest.approx(expected, rel=1e-6)


def test_confusion_matrix_rows_are_true_columns_predicted():
    matrix = confusion_matrix(LOGITS, Y)
    assert matrix.to_numpy().tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert matrix.index.name == "true" and matrix.columns.name == "predicted"


def test_per_class_report():
    report = per_class_report(LOGITS, Y).set_index("class")
    assert report.loc["0", "precision"] == pytest.approx(1 / 2)
    assert report.loc["0", "recall"] == pytest.approx(1 / 2)
    assert report.loc["1", "precision"] == pytest.approx(1 / 2)
    assert report.loc["1", "recall"] == pytest.approx(1.0)
    assert report.loc["2", "precision"] == pytest.approx(1.0)
    assert report.loc["2", "f1"] == pytest.approx(2 / 3)
    assert report.loc["macro avg", "recall"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert report.loc["weighted avg", "recall"] == pytest.approx(3 / 5)  # = accuracy
    assert report["support"].tolist() == [2, 1, 2, 5, 5]


def test_plots_show_what_they_claim():
    figure = plot_confusion_matrix(confusion_matrix(LOGITS, Y))
    assert "accuracy 60.00%" in figure.axes[0].get_title()
    history = pd.DataFrame(
        {
            "step": [0, 10, 20],
            "val_accuracy": [0.1, 0.9, 0.95],
            "train_loss": [np.nan, 0.5, 0.3],
            "learning_rate": [0.8, 0.79, 0.78],
        }
    )
    curve = plot_learning_curve(history)
    assert "0.9500 at step 20" in curve.axes[0].get_title()
    x = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    mistakes = plot_confident_mistakes(x, Y, LOGITS, count=10)
    titled = [a.get_title() for a in mistakes.axes if a.get_title()]
    # the two errors, the more confident first: example 4 (logit 4) then example 1 (logit 2)
    assert titled[0].startswith("true 2, pred 0") and titled[1].startswith("true 0, pred 1")
    assert "2 most confidently misclassified of 2 errors" in mistakes._suptitle.get_text()


class _StubModel:
    """Stands in for the Keras model: an example's logits are its first three features."""

    def __call__(self, x, training=False):
        return np.asarray(x)[:, :3]


def test_evaluate_pipeline_in_memory():
    evaluate = register_pipelines()["evaluate"]
    history = pd.DataFrame(
        {
            "step": [0, 5],
            "val_accuracy": [0.2, 0.6],
            "train_loss": [np.nan, 1.0],
            "learning_rate": [0.8, 0.8],
        }
    )
    inputs = {
        "mnist_model": _StubModel(),
        "x_test": np.hstack([LOGITS, np.zeros((5, 1), np.float32)]),  # 3 of 5 right
        "y_test": Y,
        "x_val": np.hstack([np.roll(LOGITS, 1, axis=0), np.zeros((5, 1), np.float32)]),
        "y_val": Y,
        "training_history": history,
        "params:evaluate.mistakes_to_show": 4,
        "model_registration": {
            "training_run_id": "run-7",
            "model_uri": "models:/mnist_classifier/3",
            "version": 3,
        },
        # The shifted slice: classes 0 and 1 swapped in every logit row.
        "x_test_shifted": np.hstack([LOGITS[:, [1, 0, 2]], np.zeros((5, 1), np.float32)]),
        "model_confidence": fit_confidence(LOGITS, Y.argmax(axis=1), 0.2).as_dict(),
        "fashion_mnist_images": None,  # not installed
        "params:evaluate.non_digits": {"count": 4, "seed": 0},
    }
    catalog = in_memory_catalog(inputs, evaluate.all_outputs())
    SequentialRunner().run(evaluate, catalog)
    assert catalog.load("evaluation_tags") == {
        "training_run_id": "run-7",
        "registered_model_version": "3",
        "model_uri": "models:/mnist_classifier/3",
    }
    # The test split's figures (the validation split's would be 1 of 5).
    assert catalog.load("evaluation_test_accuracy") == pytest.approx(0.6)
    assert catalog.load("confusion_matrix").to_numpy().tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert len(catalog.load("per_class_report")) == 5
    figures = {
        plot: catalog.load(plot)
        for plot in ("confusion_matrix_plot", "learning_curve_plot", "confident_mistakes_plot")
    }
    assert "accuracy 60.00%" in figures["confusion_matrix_plot"].axes[0].get_title()
    assert "0.6000 at step 5" in figures["learning_curve_plot"].axes[0].get_title()
    suptitle = figures["confident_mistakes_plot"]._suptitle.get_text()
    assert "2 most confidently misclassified of 2 errors" in suptitle
    # Beyond accuracy: the shifted slice (2 of 5 right), calibration, and non-digits; no
    # Fashion-MNIST row when it is not installed.
    metrics = catalog.load("evaluation_robustness_metrics")
    assert metrics["evaluation_shifted_test_accuracy"]["value"] == pytest.approx(0.4)
    # Every metric key comes from one dataset: the test accuracy is score_test_set's.
    assert not set(metrics) & {"evaluation_test_accuracy", "evaluation_test_loss"}
    assert not set(metrics) & set(catalog.load("evaluation_calibration_metrics"))
    report = catalog.load("rejection_report")
    assert report["images"].tolist() == [
        "MNIST test digits",
        "MNIST test digits, shifted",
        "letters (3 typefaces)",
        "random pen scribbles",
        "random pixels",
    ]
    assert report["count"].tolist() == [5, 5, 105, 4, 4]
    calibration = catalog.load("evaluation_calibration_metrics")
    assert set(calibration) == {
        "evaluation_calibration_error_before",
        "evaluation_calibration_error_after",
        "evaluation_temperature",
    }
    assert "Reliability on the test set" in (
        catalog.load("reliability_diagram_plot").axes[0].get_title()
    )
    # It judges a trained model and never trains or replaces one.
    assert not evaluate.all_outputs() & {"mnist_model", "final_checkpoint", "training_history"}
    assert all("evaluate" in node.tags for node in evaluate.nodes)


def test_a_model_never_registered_is_evaluated_without_lineage_tags(caplog):
    assert lineage_tags(None) == {}
    assert "never registered in MLflow" in caplog.text
