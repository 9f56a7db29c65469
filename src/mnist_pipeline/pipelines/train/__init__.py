"""Pipeline ``train``: the seed's averaged MLP, trained and tracked in MLflow."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
