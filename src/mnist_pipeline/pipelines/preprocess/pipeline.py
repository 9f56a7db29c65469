"""Validated arrays (02_intermediate) -> model input (05_model_input), summary (08_reporting)."""

from kedro.pipeline import Pipeline, node

from .. import stage
from .nodes import (
    flatten_and_scale,
    gather_summaries,
    one_hot_encode,
    split_train_validation,
    summarise_split,
)

#: split -> its features and targets, as the summary names them.
SPLITS = {
    "train": ("x_train", "y_train"),
    "validation": ("x_val", "y_val"),
    "test": ("x_test", "y_test"),
}


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``preprocess`` pipeline."""
    return stage(
        "preprocess",
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
            *(
                node(
                    summarise_split,
                    list(arrays),
                    f"{split}_summary",
                    name=f"summarise_{split}_split",
                    tags=["reporting"],
                )
                for split, arrays in SPLITS.items()
            ),
            node(
                gather_summaries,
                [f"{split}_summary" for split in SPLITS],
                "data_summary",
                name="gather_summaries",
                tags=["reporting"],
            ),
        ],
    )
