"""Pipeline ``preprocess``: model-ready arrays and a data summary."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
