"""Pipeline ``register``: the gate that decides whether a new version becomes the champion."""

from .pipeline import create_pipeline, gate_nodes

__all__ = ["create_pipeline", "gate_nodes"]
