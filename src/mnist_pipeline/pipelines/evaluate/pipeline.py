"""Latest model (06_models) + test split -> logits (07_model_output) and reports (08_reporting),
in a run tagged with the registered version it judges (06_models/model_registration.json).

Beyond the test accuracy (``robustness`` tag, :mod:`.robustness`): the shifted test
slice, calibration before and after the model's temperature, and how well it tells
digits from things that are not digits."""

from kedro.pipeline import Pipeline, node

from .. import stage
from ..inference.nodes import predict_logits
from .nodes import (
    confusion_matrix,
    lineage_tags,
    per_class_report,
    plot_confident_mistakes,
    plot_confusion_matrix,
    plot_learning_curve,
    score_test_set,
)
from .robustness import (
    calibration_report,
    make_non_digits,
    outside_images,
    predict_outside_logits,
    robustness_report,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``evaluate`` pipeline (it loads a trained model; it never trains)."""
    return stage(
        "evaluate",
        [
            node(
                func=lineage_tags,
                inputs="model_registration",
                outputs="evaluation_tags",
                name="name_the_model_evaluated",
            ),
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
                func=plot_confident_mistakes,
                inputs={
                    "x_test": "x_test",
                    "y_test": "y_test",
                    "logits": "test_logits",
                    "count": "params:evaluate.mistakes_to_show",
                },
                outputs="confident_mistakes_plot",
                name="plot_confident_mistakes",
                tags=["plots"],
            ),
            node(
                calibration_report,
                ["test_logits", "y_test", "model_confidence"],
                ["evaluation_calibration_metrics", "reliability_diagram_plot"],
                name="report_calibration",
                tags=["robustness"],
            ),
            node(
                predict_logits,
                ["mnist_model", "x_test_shifted"],
                "shifted_test_logits",
                name="predict_shifted_test_set",
                tags=["robustness"],
            ),
            node(
                make_non_digits,
                "params:evaluate.non_digits",
                "drawn_non_digits",
                name="draw_non_digits",
                tags=["robustness"],
            ),
            node(
                outside_images,
                ["fashion_mnist_images", "drawn_non_digits"],
                "non_digit_inputs",
                name="gather_non_digits",
                tags=["robustness"],
            ),
            node(
                predict_outside_logits,
                ["mnist_model", "non_digit_inputs"],
                "non_digit_logits",
                name="predict_non_digits",
                tags=["robustness"],
            ),
            node(
                robustness_report,
                {
                    "test_logits": "test_logits",
                    "shifted_logits": "shifted_test_logits",
                    "y_test": "y_test",
                    "outside_logits": "non_digit_logits",
                    "confidence": "model_confidence",
                },
                ["rejection_report", "evaluation_robustness_metrics"],
                name="report_robustness",
                tags=["robustness"],
            ),
        ],
    )
