"""Validated arrays (02_intermediate) -> model input (05_model_input), summary (08_reporting)."""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import flatten_and_scale, one_hot_encode, split_train_validation, summarise_splits


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``preprocess`` pipeline."""
    return pipeline(
        [
            node(flatten_and_scale, "train_images", "train_features", name="scale_train_images"),
            node(flatten_and_scale, "test_images", "x_test", name="scale_test_images"),
            node(
                one_hot_encode,
                ["train_labels", "params:ingest.num_classes"],
                "train_targets",
                name="one_hot_train_labels",
            ),
            node(
                one_hot_encode,
                ["test_labels", "params:ingest.num_classes"],
                "y_test",
                name="one_hot_test_labels",
            ),
            node(
                split_train_validation,
                ["train_features", "train_targets", "params:preprocess.validation_size"],
                ["x_train", "y_train", "x_val", "y_val"],
                name="split_train_validation",
            ),
            node(
                summarise_splits,
                ["x_train", "y_train", "x_val", "y_val", "x_test", "y_test"],
                "data_summary",
                name="summarise_splits",
                tags=["reporting"],
            ),
        ],
        tags=["preprocess"],
        namespace="preprocess",  # one Airflow task (kedro airflow create --group-by namespace)
        prefix_datasets_with_namespace=False,
    )
