"""Pipeline ``predict``: a user's own image files -> digits, with the champion model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
