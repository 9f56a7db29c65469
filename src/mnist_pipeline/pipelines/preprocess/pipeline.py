"""Validated arrays (02_intermediate) -> model input (05_model_input), with shifted copies
of the validation and test splits (:mod:`.shifted`), and a summary (08_reporting)."""

from kedro.pipeline import Pipeline, node

from .. import stage
from .nodes import (
    flatten_and_scale,
    gather_summaries,
    one_hot_encode,
    split_train_validation,
    summarise_split,
)
from .shifted import shifted_split

#: raw split -> its scaled images and one-hot labels (the test split's are model input).
ENCODED = {"train": ("train_features", "train_targets"), "test": ("x_test", "y_test")}
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
            *(
                node(flatten_and_scale, f"{split}_images", features, name=f"scale_{split}_images")
                for split, (features, _) in ENCODED.items()
            ),
            *(
                node(
                    one_hot_encode,
                    [f"{split}_labels", "params:ingest.num_classes"],
                    targets,
                    name=f"one_hot_{split}_labels",
                )
                for split, (_, targets) in ENCODED.items()
            ),
            node(
                split_train_validation,
                ["train_features", "train_targets", "params:preprocess.validation_size"],
                ["x_train", "y_train", "x_val", "y_val"],
                name="split_train_validation",
            ),
            *(
                node(
                    func=shifted_split,
                    inputs={"x": split, "shifted": "params:preprocess.shifted"},
                    outputs=f"{split}_shifted",
                    name=f"shift_{split}",
                )
                for split in ("x_val", "x_test")
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
