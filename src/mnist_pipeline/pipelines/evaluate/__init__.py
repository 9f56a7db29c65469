"""Pipeline ``evaluate``: judge the latest trained model on the test set, with reports."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
