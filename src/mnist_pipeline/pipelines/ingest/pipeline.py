"""Raw IDX files (01_raw) -> validated arrays (02_intermediate)."""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import validate_raw_data


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``ingest`` pipeline."""
    return pipeline(
        [
            node(
                func=validate_raw_data,
                inputs=[
                    "raw_train_images",
                    "raw_train_labels",
                    "raw_test_images",
                    "raw_test_labels",
                    "params:ingest.num_classes",
                ],
                outputs=["train_images", "train_labels", "test_images", "test_labels"],
                name="validate_raw_data",
            )
        ],
        tags=["ingest"],
        namespace="ingest",  # one Airflow task (kedro airflow create --group-by namespace)
        prefix_datasets_with_namespace=False,
    )
