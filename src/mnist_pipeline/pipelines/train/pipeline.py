"""Model input (05_model_input) -> checkpoint and model (06_models), history (08_reporting)."""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import (
    build_averaged_model,
    metric_histories,
    package_model_for_serving,
    train_averaged_mlp,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``train`` pipeline."""
    return pipeline(
        [
            node(
                train_averaged_mlp,
                inputs=[
                    "x_train", "y_train", "x_val", "y_val", "x_test", "y_test",
                    "training_checkpoints", "params:train",
                ],
                outputs=["training_checkpoint", "training_history", "test_accuracy", "training_tags"],
                name="train_averaged_mlp",
            ),
            node(
                build_averaged_model,
                "training_checkpoint",
                "mnist_model",
                name="build_averaged_model",
            ),
            node(
                package_model_for_serving,
                "mnist_model",
                "mlflow_mnist_model",
                name="log_mlflow_model",
                tags=["mlflow"],
            ),
            node(
                metric_histories,
                "training_history",
                ["val_accuracy_history", "train_loss_history", "learning_rate_history"],
                name="log_metric_histories",
                tags=["mlflow", "reporting"],
            ),
        ],
        tags=["train"],
    )
