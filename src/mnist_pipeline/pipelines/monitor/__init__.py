"""Pipeline ``monitor``: what the model was sent lately against what it was trained on."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
