"""Model input (05_model_input) -> checkpoint and model (06_models), history (08_reporting).

The metric histories reach MLflow while training runs (``live_training_metrics``); the
model reaches MLflow with the inference pipeline, logged by kedro-mlflow at the end of
the run (see :mod:`mnist_pipeline.pipeline_registry`).
"""

from kedro.pipeline import Node, Pipeline, node

from .. import stage
from .nodes import build_averaged_model, train_model


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``train`` pipeline."""
    return stage("train", training_nodes("params:train"))


def training_nodes(parameters: str) -> list[Node]:
    """The nodes that train and build the model, their settings read from ``parameters``
    (``train_best`` hands them the best trial's)."""
    return [
        node(
            train_model,
            [
                "x_train",
                "y_train",
                "x_val",
                "y_val",
                "x_test",
                "y_test",
                "resume_checkpoints",
                "live_training_metrics",
                parameters,
            ],
            ["final_checkpoint", "training_history", "test_accuracy", "training_tags"],
            name="train_model",
        ),
        node(build_averaged_model, "final_checkpoint", "mnist_model", name="build_averaged_model"),
    ]
