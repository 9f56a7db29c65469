"""Model input (05_model_input) -> checkpoint and model (06_models), history (08_reporting),
then the gate (:mod:`..register`).

The metric histories reach MLflow while training runs (``live_training_metrics``); the
model is exported (SavedModel, ONNX, LiteRT) and reaches MLflow as the served model
(``served_model``: :mod:`mnist_pipeline.tracking.model`), logged and registered; the
``register`` nodes then decide whether it becomes the champion.
"""

from kedro.pipeline import Node, Pipeline, node

from .. import stage
from ..inference.nodes import predict_logits
from ..register import gate_nodes
from .nodes import (
    build_averaged_model,
    exportable_model,
    fit_model_confidence,
    served_model_settings,
    train_model,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``train`` pipeline: training, then the gate."""
    return stage("train", [*training_nodes("params:train"), *gate_nodes()])


def training_nodes(parameters: str) -> list[Node]:
    """The nodes that train, build, export and register the model, their settings read
    from ``parameters`` (``train_best`` hands them the best trial's)."""
    return [
        node(
            func=train_model,
            inputs={
                "x_train": "x_train",
                "y_train": "y_train",
                "x_val": "x_val",
                "y_val": "y_val",
                "x_test": "x_test",
                "y_test": "y_test",
                "checkpoints": "resume_checkpoints",
                "log_metrics": "live_training_metrics",
                "parameters": parameters,
            },
            outputs=["final_checkpoint", "training_history", "test_accuracy", "training_tags"],
            name="train_model",
        ),
        node(
            func=build_averaged_model,
            inputs="final_checkpoint",
            outputs="mnist_model",
            name="build_averaged_model",
        ),
        node(
            func=exportable_model,
            inputs=["mnist_model", "params:serving"],
            outputs="model_exports",
            name="export_model",
        ),
        node(
            func=predict_logits,
            inputs=["mnist_model", "x_val"],
            outputs="validation_logits",
            name="score_validation_split",
        ),
        node(
            func=fit_model_confidence,
            inputs={
                "val_logits": "validation_logits",
                "y_val": "y_val",
                "serving": "params:serving",
            },
            outputs="model_confidence",
            name="fit_confidence",
        ),
        node(
            func=served_model_settings,
            inputs={
                "exports": "model_exports",
                "confidence": "model_confidence",
                "predict": "params:predict",
                "serving": "params:serving",
                "prediction_log": "params:prediction_log",
            },
            outputs="served_model",
            name="package_served_model",
        ),
    ]
