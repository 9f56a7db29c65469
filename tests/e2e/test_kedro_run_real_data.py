"""End to end: ``kedro run`` in a temporary copy of the project on the real MNIST files."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

from ..project import copy_outputs, copy_project, mlflow_store, run_kedro

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory, trained_real_project):
    """A project copy with the real raw files, after ``ingest`` and ``preprocess``."""
    root = copy_project(tmp_path_factory.mktemp("e2e") / "project", exports=True)
    return copy_outputs(trained_real_project, root, store=False)


def test_preprocessed_arrays_are_model_ready(project):
    def load(name):
        return np.load(project / "data" / "05_model_input" / f"{name}.npy")

    x_train, y_train, x_val, x_test = (
        load("x_train"),
        load("y_train"),
        load("x_val"),
        load("x_test"),
    )
    assert x_train.shape == (55000, 784) and x_train.dtype == np.float32
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0
    assert y_train.shape == (55000, 10) and (y_train.sum(axis=1) == 1).all()
    assert x_test.shape == (10000, 784)
    raw = np.load(project / "data" / "02_intermediate" / "train_images.npy")
    np.testing.assert_array_equal(x_val, raw[:5000].reshape(5000, -1) * np.float32(1 / 255))
    summary = (project / "data" / "08_reporting" / "data_summary.json").read_text()
    assert '"examples": 55000' in summary


def _relabel_first(gz: bytes) -> bytes:
    """A well-formed IDX file whose first label differs: only the checksum can tell."""
    data = bytearray(gzip.decompress(gz))
    data[8] = (data[8] + 1) % 10
    return gzip.compress(bytes(data))


@pytest.mark.parametrize(
    ("file", "damage", "fault"),
    [
        ("train-labels-idx1-ubyte.gz", lambda b: b[: len(b) // 2], "gzip stream is truncated"),
        ("t10k-labels-idx1-ubyte.gz", _relabel_first, "SHA-256"),
    ],
    ids=["truncated", "checksum"],
)
def test_bad_raw_file_stops_with_one_message_and_keeps_outputs(project, file, damage, fault):
    raw = project / "data" / "01_raw" / file
    good = raw.read_bytes()
    outputs = sorted((project / "data" / "02_intermediate").glob("*.npy"))
    before = {p: p.stat().st_mtime_ns for p in outputs}
    raw.chmod(0o644)
    raw.write_bytes(damage(good))
    try:
        result = run_kedro(project, "run", "--pipeline=ingest")
    finally:
        raw.write_bytes(good)
    assert result.returncode != 0
    assert f"Error: raw_{'train' if 'train' in file else 'test'}_labels: IDX file" in result.stderr
    assert str(raw) in result.stderr and fault in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert {p: p.stat().st_mtime_ns for p in outputs} == before


def _modules_imported_by_kedro(project, *args: str) -> set[str]:
    """Every module ``kedro <args>`` imports in ``project`` (``python -X importtime``)."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kedro", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize("stage", ["ingest", "preprocess"])
def test_stages_that_only_move_arrays_never_import_tensorflow_or_matplotlib(project, stage):
    """Neither through their nodes nor through the catalog's other entries (the plots')."""
    imported = _modules_imported_by_kedro(project, "run", f"--pipeline={stage}")
    assert {"kedro", "mlflow", f"mnist_pipeline.pipelines.{stage}"} <= imported  # it did run
    assert not {"tensorflow", "keras", "matplotlib"} & imported


def test_loading_the_project_settings_imports_no_plotting_or_tensorflow(project):
    """``kedro --help`` loads the settings (hooks, the served model's nodes), not the plots."""
    imported = _modules_imported_by_kedro(project, "--help")
    assert {
        "mnist_pipeline.tracking.lineage",
        "mnist_pipeline.pipelines.inference.nodes",
    } <= imported
    assert not {"matplotlib", "tensorflow", "keras"} & imported


def test_short_training_on_real_data_learns(project):
    result = run_kedro(
        project, "run", "--pipeline=train", "--params=train.steps=1000,train.eval_every=500"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    _, runs = mlflow_store(project)
    train_run = next(r for r in runs if r.info.run_name == "train")
    assert train_run.data.metrics["test_accuracy"] > 0.95
    assert train_run.data.params["train.steps"] == "1000"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.steps=0", "train.steps=0 is invalid: it must be a whole number >= 1"),
        ("train.batch_size=0", "train.batch_size=0 is invalid"),
        ("train.batch_size=60000", "at most the number of training examples (55000)"),
        ("train.learning_rate_decay=1.5", "train.learning_rate_decay=1.5 is invalid"),
        ("train.regularization_rate=-1", "train.regularization_rate=-1 is invalid"),
        ("train.stepz=10", "Unknown parameter(s) train.stepz"),
        ("preprocess.validation_size=60000", "must be less than the 60000 examples"),
    ],
)
def test_bad_parameters_stop_the_run_before_any_data_is_read(project, override, message):
    runs_before = len(mlflow_store(project)[1])
    result = run_kedro(project, "run", f"--params={override}")
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Loading data from" not in result.stdout + result.stderr
    assert len(mlflow_store(project)[1]) == runs_before  # no MLflow run was opened


@pytest.mark.parametrize(
    ("model", "precision", "steps"),
    [("lenet5", "float32", "train.lenet5.steps=300"), ("mlp", "mixed_bfloat16", "train.steps=300")],
)
def test_short_training_is_evaluated_registered_and_answers_raw_images(
    project, model, precision, steps
):
    import mlflow

    result = run_kedro(
        project,
        "run",
        "--pipeline=train",
        f"--params=train.model={model},train.precision={precision},{steps},train.eval_every=150",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client, runs = mlflow_store(project)
    train_run = runs[0]
    assert train_run.data.params["train.model"] == model
    assert train_run.data.params["train.precision"] == precision
    history = client.get_metric_history(train_run.info.run_id, "val_accuracy")
    assert [m.step for m in history] == [0, 150, 300]
    assert train_run.data.metrics["test_accuracy"] > 0.9
    (version,) = client.search_model_versions(f"run_id = '{train_run.info.run_id}'")
    tags = client.get_model_version("mnist_classifier", version.version).tags
    assert (tags["architecture"], tags["precision"]) == (model, precision)

    evaluated = run_kedro(project, "run", "--pipeline=evaluate")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    evaluation = mlflow_store(project)[1][0]
    assert evaluation.data.tags["training_run_id"] == train_run.info.run_id
    assert evaluation.data.metrics["evaluation_test_accuracy"] == pytest.approx(
        train_run.data.metrics["test_accuracy"], abs=1e-6
    )

    # The registered model, as served: raw 0..255 pixels in, digits and probabilities out.
    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    try:
        model = mlflow.pyfunc.load_model(f"models:/mnist_classifier/{version.version}")
    finally:
        mlflow.set_tracking_uri(None)
    images = np.load(project / "data" / "02_intermediate" / "test_images.npy")[:200]
    labels = np.load(project / "data" / "02_intermediate" / "test_labels.npy")[:200]
    predictions = model.predict(images.astype(np.float64))
    assert list(predictions.columns[:2]) == ["digit", "probability"]
    assert (predictions["digit"].to_numpy() == labels).mean() > 0.9
