"""``ingest`` + ``preprocess`` run as Kedro pipelines on an in-memory catalog."""

from __future__ import annotations

import numpy as np
from kedro.runner import SequentialRunner

from mnist_pipeline.pipeline_registry import register_pipelines

from ..conftest import in_memory_catalog


def test_registry_names_every_stage_and_the_default_runs_them_all():
    pipelines = register_pipelines()
    stages = ("ingest", "preprocess", "train", "evaluate")
    assert set(pipelines) == {
        *stages,
        "__default__",
        "predict",
        "register",
        "monitor",
        "tune",
        "train_best",
    }
    default_nodes = {n.name for n in pipelines["__default__"].nodes}
    assert default_nodes == {n.name for stage in stages for n in pipelines[stage].nodes}
    assert not {n.name for n in pipelines["predict"].nodes} & default_nodes
    # Only the pipelines that train export, log and register the served model, and each
    # of them then puts it through the gate's nodes, as `register` alone does.
    trains = {"train", "__default__", "train_best"}
    assert {name for name, p in pipelines.items() if "served_model" in p.all_outputs()} == trains
    gate = {n.name.split(".")[-1] for n in pipelines["register"].nodes}
    assert gate == {
        "score_challenger",
        "score_champion",
        "smoke_test_challenger",
        "decide_champion",
        "evaluate_challenger_with_mlflow",
        "describe_challenger",
        "describe_reference",
        "record_registration",
    }
    for name in trains:
        assert gate <= {
            n.name.split(".")[-1] for n in pipelines[name].only_nodes_with_tags("register").nodes
        }
        assert "model_registration" in pipelines[name].all_outputs()


def test_ingest_then_preprocess_in_memory(small_mnist):
    pipelines = register_pipelines()
    data_pipeline = pipelines["ingest"] + pipelines["preprocess"]
    inputs = {
        **small_mnist,
        "params:ingest.num_classes": 10,
        "params:preprocess.validation_size": 50,
        "params:preprocess.shifted": {"seed": 3, "rotation_degrees": 15, "elastic_alpha": 2},
    }
    catalog = in_memory_catalog(inputs, data_pipeline.all_outputs())
    SequentialRunner().run(data_pipeline, catalog)

    x_train, y_train = catalog.load("x_train"), catalog.load("y_train")
    x_val = catalog.load("x_val")
    x_test, y_test = catalog.load("x_test"), catalog.load("y_test")
    assert x_train.shape == (250, 784) and x_train.dtype == np.float32
    assert x_val.shape == (50, 784)
    assert x_test.shape == (100, 784)
    assert y_train.shape == (250, 10) and y_train.dtype == np.float32
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0
    images = small_mnist["raw_train_images"]
    np.testing.assert_array_equal(
        x_val, images[:50].reshape(50, -1).astype(np.float32) * (1.0 / 255.0)
    )
    np.testing.assert_array_equal(y_train.argmax(1), small_mnist["raw_train_labels"][50:])
    np.testing.assert_array_equal(y_test.argmax(1), small_mnist["raw_test_labels"])

    # The shifted slices: the same digits, redrawn (labels: y_val, y_test).
    shifted = catalog.load("x_val_shifted")
    assert shifted.shape == x_val.shape and shifted.dtype == np.float32
    assert shifted.min() >= 0.0 and shifted.max() <= 1.0
    assert catalog.load("x_test_shifted").shape == x_test.shape
    assert not np.array_equal(shifted, x_val)

    summary = catalog.load("data_summary")
    assert summary["train"]["examples"] == 250
    assert sum(summary["test"]["class_counts"].values()) == 100
