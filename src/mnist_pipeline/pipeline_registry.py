"""Project pipelines, registered explicitly.

Kedro 1.7 loads pipelines lazily; with ``find_pipelines()`` an alias that sums other
pipelines fails under ``--pipeline``, so every name is spelled out here.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from mnist_pipeline.pipelines import evaluate, ingest, preprocess, train


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines: each stage by name, and the whole run as default."""
    stages = {
        "ingest": ingest.create_pipeline(),
        "preprocess": preprocess.create_pipeline(),
        "train": train.create_pipeline(),
        "evaluate": evaluate.create_pipeline(),
    }
    return {**stages, "__default__": sum(stages.values(), Pipeline([]))}
