"""Pipeline ``inference``: raw 28x28 images -> digits; logged with every trained model."""

from .pipeline import INPUT_NAME, create_pipeline

__all__ = ["INPUT_NAME", "create_pipeline"]
