"""Image files (01_raw/new_digits) + champion model -> predictions (07_model_output)."""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import champion_tags, predict_digits, prepare_digit_images, report_predictions


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``predict`` pipeline (it uses the registry's champion; it never trains)."""
    return pipeline(
        [
            node(
                prepare_digit_images,
                ["new_digit_images", "params:predict"],
                ["new_digits_mnist_like", "new_digit_files"],
                name="make_images_mnist_like",
            ),
            node(
                func=champion_tags,
                inputs="champion_model",
                outputs="predict_tags",
                name="name_the_champion",
            ),
            node(
                func=predict_digits,
                inputs=["champion_model", "new_digits_mnist_like"],
                outputs="new_digit_predictions",
                name="predict_new_digits",
            ),
            node(
                report_predictions,
                ["new_digit_files", "new_digit_predictions"],
                "predictions",
                name="report_predictions",
                tags=["reporting"],
            ),
        ],
        tags=["predict"],
    )
