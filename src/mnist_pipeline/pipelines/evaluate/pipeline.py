"""Latest model (06_models) + test split -> logits (07_model_output) and reports (08_reporting)."""

from kedro.pipeline import Pipeline, node

from .. import stage
from ..inference.nodes import predict_logits
from .nodes import (
    confusion_matrix,
    per_class_report,
    plot_confident_mistakes,
    plot_confusion_matrix,
    plot_learning_curve,
    score_test_set,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``evaluate`` pipeline (it loads a trained model; it never trains)."""
    return stage(
        "evaluate",
        [
            node(predict_logits, ["mnist_model", "x_test"], "test_logits", name="predict_test_set"),
            node(
                score_test_set,
                ["test_logits", "y_test"],
                ["evaluation_test_accuracy", "evaluation_test_loss"],
                name="score_test_set",
            ),
            node(
                confusion_matrix,
                ["test_logits", "y_test"],
                "confusion_matrix",
                name="count_confusions",
            ),
            node(
                per_class_report,
                ["test_logits", "y_test"],
                "per_class_report",
                name="report_per_class",
            ),
            node(
                plot_confusion_matrix,
                "confusion_matrix",
                "confusion_matrix_plot",
                name="plot_confusion_matrix",
                tags=["plots"],
            ),
            node(
                plot_learning_curve,
                "training_history",
                "learning_curve_plot",
                name="plot_learning_curve",
                tags=["plots"],
            ),
            node(
                plot_confident_mistakes,
                ["x_test", "y_test", "test_logits", "params:evaluate.mistakes_to_show"],
                "confident_mistakes_plot",
                name="plot_confident_mistakes",
                tags=["plots"],
            ),
        ],
    )
