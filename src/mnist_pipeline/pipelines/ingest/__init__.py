"""Pipeline ``ingest``: check that the four raw IDX arrays belong together, then persist them."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
