"""Raw images (input ``digit_images``) + trained model (06_models) -> ``digit_predictions``.

kedro-mlflow logs this pipeline with the trained model after every training run (see
:mod:`mnist_pipeline.pipeline_registry`), so what is served is exactly these nodes. The
pixels become model input through ``preprocess``'s own node, and ``evaluate`` takes its
logits from this pipeline's :func:`.nodes.predict_logits`: one definition of each.
"""

from kedro.pipeline import Pipeline, node, pipeline

from ..preprocess.nodes import flatten_and_scale
from .nodes import check_digit_images, predict_logits, predictions_table

#: The dataset a client of the served model provides.
INPUT_NAME = "digit_images"


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``inference`` pipeline (one input, ``digit_images``; one output)."""
    return pipeline(
        [
            node(check_digit_images, INPUT_NAME, "checked_digits", name="check_digit_images"),
            node(flatten_and_scale, "checked_digits", "digit_features", name="scale_digit_images"),
            node(
                predict_logits,
                ["mnist_model", "digit_features"],
                "digit_logits",
                name="predict_digit_logits",
            ),
            node(
                predictions_table, "digit_logits", "digit_predictions", name="tabulate_predictions"
            ),
        ],
        tags=["inference"],
    )
