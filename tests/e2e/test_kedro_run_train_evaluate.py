"""``kedro run --pipeline=train`` on small data, into a real MLflow store in a temp folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mnist_pipeline.pipelines.inference.nodes import PREDICTION_COLUMNS

from ..conftest import model_input
from ..project import artifact_paths, copy_project, mlflow_store, run_kedro, write_model_input

pytestmark = pytest.mark.slow

PARAMS = "train.steps=300,train.eval_every=100,train.batch_size=50,train.seed=11"


def _model_input() -> dict[str, np.ndarray]:
    return model_input(400, 100, 100)


@pytest.fixture(scope="module")
def trained_twice(tmp_path_factory):
    """Two identical short training runs in one project copy."""
    project = copy_project(tmp_path_factory.mktemp("train") / "project")
    write_model_input(project, _model_input())
    results = [
        run_kedro(project, "run", "--pipeline=train", f"--params={PARAMS}") for _ in range(2)
    ]
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
    return project, results


def test_training_logs_the_seed_lines_and_progress(trained_twice):
    _, (result, _) = trained_twice
    log = result.stdout + result.stderr
    assert "After 0 training step(s), validation accuracy using average model is" in log
    assert "After 300 training step(s), test accuracy using average model is" in log
    assert "[300/300 steps, 100%" in log


def test_training_run_prints_no_start_up_noise(trained_twice):
    """No TensorFlow C++ banner, no MLflow type-hint warning, no `--pipeline` deprecation."""
    _, (result, _) = trained_twice
    log = result.stdout + result.stderr
    for noise in ("oneDNN custom operations", "cuInit", "cuda drivers", "Add type hints"):
        assert noise not in log
    assert "Warning" not in log and "deprecated" not in log, log


def test_run_records_params_metrics_checkpoint_and_model(trained_twice):
    project, _ = trained_twice
    client, runs = mlflow_store(project, "train")
    assert len(runs) == 2
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.params["train.steps"] == "300"
    assert run.data.params["train.learning_rate_base"] == "0.8"
    # Logged once, by the training loop; its value is checked against the averaged
    # weights in test_checkpoint_reloads_into_a_model_with_the_same_test_accuracy.
    (test_point,) = client.get_metric_history(run.info.run_id, "test_accuracy")
    assert test_point.value == run.data.metrics["test_accuracy"]
    history = client.get_metric_history(run.info.run_id, "val_accuracy")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [0, 100, 200, 300]
    assert max(m.value for m in history) > 0.5
    loss_steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "train_loss"))
    assert loss_steps == [100, 200, 300]
    files = artifact_paths(client, run.info.run_id)
    assert "checkpoint/checkpoint" in files
    assert any(f.startswith("checkpoint/ckpt-1.data") for f in files)
    assert "training_history.csv" in {f.split("/")[-1] for f in files}
    (model_output,) = run.outputs.model_outputs
    model = client.get_logged_model(model_output.model_id)
    assert model.name == "model"
    assert model.source_run_id == run.info.run_id
    model_dir = Path(model.artifact_location)
    mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.pyfunc.model"
    # It takes pixel arrays or encoded image files and checks what it is sent itself.
    assert mlmodel["signature"]["inputs"] is None
    outputs = json.loads(mlmodel["signature"]["outputs"])
    assert [column["name"] for column in outputs] == ["name", *PREDICTION_COLUMNS, "error"]
    assert (model_dir / "serving_input_example.json").is_file()
    requirements = (model_dir / "requirements.txt").read_text()
    assert "tensorflow==" in requirements and "kedro==" in requirements
    code = model_dir / "code" / "mnist_pipeline"
    assert (code / "pipelines" / "inference" / "nodes.py").is_file()
    assert list((model_dir / "artifacts").rglob("mnist_model.keras"))
    assert (project / "data" / "06_models" / "checkpoint" / "checkpoint").is_file()
    assert (project / "data" / "06_models" / "mnist_model.keras").is_file()


def test_each_run_registers_a_version_and_the_equal_second_becomes_champion(trained_twice):
    project, _ = trained_twice
    client, (second, first) = mlflow_store(project, "train")
    versions = {
        str(v.version): v for v in client.search_model_versions("name = 'mnist_classifier'")
    }
    assert {versions["1"].run_id, versions["2"].run_id} == {first.info.run_id, second.info.run_id}
    assert versions["1"].run_id == first.info.run_id
    champion = client.get_model_version_by_alias("mnist_classifier", "champion")
    assert str(champion.version) == "2"  # same seed, same accuracy: "at least" the champion's
    assert champion.tags["promoted"] == "true"
    assert champion.tags["promotion"].startswith("champion: passes every criterion")
    registration = json.loads(
        (project / "data" / "06_models" / "model_registration.json").read_text()
    )
    assert registration["version"] == 2 and registration["training_run_id"] == second.info.run_id


def test_metric_histories_are_those_of_the_history_table(trained_twice):
    project, _ = trained_twice
    client, runs = mlflow_store(project, "train")
    run = runs[0]
    table = pd.read_csv(project / "data" / "08_reporting" / "training_history.csv")
    for column in ("val_accuracy", "train_loss", "learning_rate"):
        logged = sorted(
            (m.step, m.value) for m in client.get_metric_history(run.info.run_id, column)
        )
        expected = [
            (int(s), v) for s, v in zip(table["step"], table[column], strict=True) if np.isfinite(v)
        ]
        assert [step for step, _ in logged] == [step for step, _ in expected], column
        np.testing.assert_allclose([v for _, v in logged], [v for _, v in expected], rtol=1e-6)
    # The seed's schedule: 0.8 * 0.99 ** (step / decay_steps), decaying over the 400
    # training examples here; the rate logged at a step is the one the next step uses.
    rates = sorted(
        (m.step, m.value) for m in client.get_metric_history(run.info.run_id, "learning_rate")
    )
    assert [step for step, _ in rates] == [0, 100, 200, 300]
    np.testing.assert_allclose(
        [v for _, v in rates], [0.8 * 0.99 ** (step / 400) for step, _ in rates], rtol=1e-6
    )


def test_same_seed_gives_identical_metrics(trained_twice):
    project, _ = trained_twice
    client, (second, first) = mlflow_store(project, "train")

    def series(run):
        return [
            (m.step, m.value)
            for m in sorted(
                client.get_metric_history(run.info.run_id, "train_loss"), key=lambda m: m.step
            )
        ]

    assert series(first) == series(second)

    def model_metrics(run) -> dict:  # not the machine's (MLflow's system/ metrics)
        return {k: v for k, v in run.data.metrics.items() if not k.startswith("system/")}

    assert model_metrics(first) == model_metrics(second)


def test_checkpoint_reloads_into_a_model_with_the_same_test_accuracy(trained_twice):
    project, _ = trained_twice
    from mnist_pipeline.datasets import TensorFlowCheckpointDataset
    from mnist_pipeline.training.mlp import averaged_keras_model

    state = TensorFlowCheckpointDataset(
        filepath=str(project / "data" / "06_models" / "checkpoint")
    ).load()
    assert int(state["global_step"]) == 300
    model = averaged_keras_model(state)
    arrays = _model_input()
    logits = model.predict(arrays["x_test"], verbose=0)
    accuracy = float((logits.argmax(1) == arrays["y_test"].argmax(1)).mean())
    _, runs = mlflow_store(project, "train")
    assert accuracy == pytest.approx(runs[0].data.metrics["test_accuracy"], abs=1e-6)


@pytest.fixture(scope="module")
def evaluated(trained_twice):
    """The trained project after ``kedro run --pipeline=evaluate``."""
    project, _ = trained_twice
    result = run_kedro(project, "run", "--pipeline=evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    return project


def test_evaluate_reports_the_training_accuracy_in_its_own_tagged_run(evaluated):
    project = evaluated
    client, runs = mlflow_store(project)
    # The newest of each (another test of the module may evaluate the project again).
    evaluation = next(run for run in runs if run.info.run_name == "evaluate")
    training = next(run for run in runs if run.info.run_name == "train")
    assert evaluation.data.tags["training_run_id"] == training.info.run_id
    assert evaluation.data.tags["registered_model_version"] == "2"
    assert evaluation.data.metrics["evaluation_test_accuracy"] == pytest.approx(
        training.data.metrics["test_accuracy"], abs=1e-6
    )
    assert "test_accuracy" not in evaluation.data.metrics  # the training loop's key only
    assert evaluation.data.metrics["evaluation_test_loss"] > 0
    files = artifact_paths(client, evaluation.info.run_id)
    assert {
        "plots/confusion_matrix.png",
        "plots/learning_curve.png",
        "plots/confident_mistakes.png",
        "reports/confusion_matrix.csv",
        "reports/per_class_report.csv",
    } <= files
    reporting = project / "data" / "08_reporting"
    for name in ("confusion_matrix.png", "learning_curve.png", "confident_mistakes.png"):
        assert (reporting / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _assert_the_averages_are_scored_and_served(project, client, version) -> None:
    """The run's test accuracy and the logged model's answers are those of the moving
    averages, not of the raw weights (after 4 slow steps the two score differently)."""
    import mlflow

    from mnist_pipeline.datasets import TensorFlowCheckpointDataset

    state = TensorFlowCheckpointDataset(
        filepath=str(project / "data" / "06_models" / "checkpoint")
    ).load()
    arrays = _model_input()
    labels = arrays["y_test"].argmax(1)

    def accuracy(prefix: str) -> float:
        hidden = np.maximum(
            arrays["x_test"] @ state[f"{prefix}weights1"] + state[f"{prefix}biases1"], 0
        )
        logits = hidden @ state[f"{prefix}weights2"] + state[f"{prefix}biases2"]
        return float((logits.argmax(1) == labels).mean())

    averaged, raw = accuracy("average_"), accuracy("")
    assert averaged != raw
    run = client.get_run(version.run_id)
    assert run.data.metrics["test_accuracy"] == pytest.approx(averaged, abs=1e-6)
    (output,) = run.outputs.model_outputs
    model = mlflow.pyfunc.load_model(client.get_logged_model(output.model_id).artifact_location)
    images = np.rint(arrays["x_test"] * 255).reshape(-1, 28, 28).astype(np.float64)
    served = model.predict(images)["digit"].to_numpy()
    assert float((served == labels).mean()) == pytest.approx(averaged)


def test_the_run_scores_and_serves_the_moving_averages(tmp_path):
    """Four slow steps, after which the raw weights and their averages score differently:
    the training run's test accuracy and its logged model are the averages'. (How a later
    version takes the champion alias, or not: test_gate.py, on the real files.)"""
    project = copy_project(tmp_path / "project")
    write_model_input(project, _model_input())
    params = (
        "train.steps=4,train.eval_every=2,train.batch_size=50,train.seed=11,"
        "train.learning_rate_base=0.02"
    )
    result = run_kedro(project, "run", "--pipeline=train", f"--params={params}")
    assert result.returncode == 0, result.stderr[-3000:]
    client, _ = mlflow_store(project)
    champion = client.get_model_version_by_alias("mnist_classifier", "champion")
    _assert_the_averages_are_scored_and_served(project, client, champion)


def test_evaluate_of_an_unregistered_model_has_no_lineage_tags_not_its_own(evaluated):
    project = evaluated
    registration = project / "data" / "06_models" / "model_registration.json"
    kept = registration.read_bytes()
    registration.unlink()
    try:
        result = run_kedro(project, "run", "--pipeline=evaluate")
    finally:
        registration.write_bytes(kept)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "was never registered in MLflow" in " ".join((result.stdout + result.stderr).split())
    _, runs = mlflow_store(project)
    evaluation = runs[0]
    assert evaluation.info.run_name == "evaluate"
    assert "training_run_id" not in evaluation.data.tags
    assert "registered_model_version" not in evaluation.data.tags


def test_evaluate_without_a_model_says_to_train_first(tmp_path):
    project = copy_project(tmp_path / "project")
    write_model_input(project, _model_input())
    result = run_kedro(project, "run", "--pipeline=evaluate")
    assert result.returncode == 1
    assert "There is no trained model yet" in result.stderr
    assert "run `kedro run` first" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert (project / "mlflow.db").is_file()  # kedro-mlflow set up its store...
    _, runs = mlflow_store(project)
    assert runs == []  # ...but no MLflow run was opened


def test_an_unknown_pipeline_is_one_message_naming_the_registered_ones(tmp_path):
    project = copy_project(tmp_path / "project")
    result = run_kedro(project, "run", "--pipeline=evaluation")
    assert result.returncode == 1
    assert (
        "no pipeline named evaluation; this project has evaluate, ingest, monitor, predict, "
        "preprocess, register, train, train_best, tune." in result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert not (project / "mlflow.db").exists()  # stopped before anything was opened
