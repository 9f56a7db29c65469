"""Model input (05_model_input) -> checkpoint and model (06_models), history (08_reporting).

The metric histories reach MLflow while training runs (``live_training_metrics``); the
model is exported (SavedModel, ONNX, LiteRT) and reaches MLflow as the served model
(``served_model``: :mod:`mnist_pipeline.tracking.model`), logged and registered.
"""

from kedro.pipeline import Node, Pipeline, node

from .. import stage
from .nodes import build_averaged_model, exportable_model, served_model_settings, train_model


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
        node(
            exportable_model,
            ["mnist_model", "params:serving"],
            "model_exports",
            name="export_model",
        ),
        node(
            served_model_settings,
            ["model_exports", "params:predict", "params:serving"],
            "served_model",
            name="package_served_model",
        ),
    ]
