"""Pipeline ``tune``: an Optuna search for better ``train`` parameters, every trial in MLflow."""

from .pipeline import create_pipeline, create_train_best_pipeline

__all__ = ["create_pipeline", "create_train_best_pipeline"]
