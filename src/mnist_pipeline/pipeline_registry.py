"""Project pipelines, registered explicitly.

Kedro 1.7 loads pipelines lazily; with ``find_pipelines()`` an alias that sums other
pipelines fails under ``--pipeline``, so every name is spelled out here.

The pipelines that train (``train`` and ``__default__``) are kedro-mlflow ``PipelineML``
objects: when one of them has run, kedro-mlflow logs the ``inference`` pipeline with the
trained model as one MLflow model (:mod:`.tracking.model`). This holds only
when the pipeline run *is* the ``PipelineML``: adding a pipeline to one returns a plain
``Pipeline``, which logs nothing, so each is built by :func:`_logging_its_model`.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline
from kedro_mlflow.pipeline import pipeline_ml_factory

from mnist_pipeline.pipelines import (
    evaluate,
    inference,
    ingest,
    predict,
    preprocess,
    train,
    tune,
)
from mnist_pipeline.tracking.model import kedro_pipeline_model_kwargs, log_model_kwargs


def _logging_its_model(training: Pipeline) -> Pipeline:
    """``training``, which logs the inference pipeline and its trained model to MLflow."""
    return pipeline_ml_factory(
        training=training,
        inference=inference.create_pipeline(),
        input_name=inference.INPUT_NAME,
        kpm_kwargs=kedro_pipeline_model_kwargs(),
        log_model_kwargs=log_model_kwargs(),
    )


def register_pipelines() -> dict[str, Pipeline]:
    """Register each stage by name, the whole run as default, ``predict``, and the search:
    ``tune`` and ``train_best`` (which trains the study's best trial in full)."""
    stages = {
        "ingest": ingest.create_pipeline(),
        "preprocess": preprocess.create_pipeline(),
        "train": train.create_pipeline(),
        "evaluate": evaluate.create_pipeline(),
    }
    return {
        **stages,
        "train": _logging_its_model(stages["train"]),
        "__default__": _logging_its_model(sum(stages.values(), Pipeline([]))),
        "predict": predict.create_pipeline(),
        "tune": tune.create_pipeline(),
        "train_best": _logging_its_model(tune.create_train_best_pipeline()),
    }
