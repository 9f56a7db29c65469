"""Project pipelines, registered explicitly.

Kedro 1.7 loads pipelines lazily; with ``find_pipelines()`` an alias that sums other
pipelines fails under ``--pipeline``, so every name is spelled out here. The pipelines
that train (``train``, ``__default__``, ``train_best``) end by saving the served model,
which logs and registers it in MLflow (:mod:`.tracking.model`), then by the gate's nodes
(:mod:`.pipelines.register`), which decide whether it becomes the champion; ``register``
is the gate alone, for the newest registered version.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from mnist_pipeline.pipelines import (
    evaluate,
    ingest,
    monitor,
    predict,
    preprocess,
    register,
    train,
    tune,
)


def register_pipelines() -> dict[str, Pipeline]:
    """Register each stage by name, the whole run as default, ``predict``, the gate alone
    (``register``), the drift report on the prediction log (``monitor``), and the search:
    ``tune`` and ``train_best`` (which trains the study's best trial in full)."""
    stages = {
        "ingest": ingest.create_pipeline(),
        "preprocess": preprocess.create_pipeline(),
        "train": train.create_pipeline(),
        "evaluate": evaluate.create_pipeline(),
    }
    return {
        **stages,
        "__default__": sum(stages.values(), Pipeline([])),
        "predict": predict.create_pipeline(),
        "monitor": monitor.create_pipeline(),
        "register": register.create_pipeline(),
        "tune": tune.create_pipeline(),
        "train_best": tune.create_train_best_pipeline(),
    }
