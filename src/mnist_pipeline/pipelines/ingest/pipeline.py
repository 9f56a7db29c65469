"""Raw IDX files (01_raw) -> validated arrays (02_intermediate)."""

from kedro.pipeline import Pipeline, node

from .. import stage
from .nodes import validate_raw_data


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``ingest`` pipeline."""
    raw = ["train_images", "train_labels", "test_images", "test_labels"]
    return stage(
        "ingest",
        [
            node(
                validate_raw_data,
                [f"raw_{name}" for name in raw] + ["params:ingest.num_classes"],
                raw,
                name="validate_raw_data",
            )
        ],
    )
