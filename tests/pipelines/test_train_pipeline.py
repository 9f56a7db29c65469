"""``kedro run --pipeline=train`` on small data, into a real MLflow store in a temp folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
    results = [run_kedro(project, "run", "--pipeline=train", f"--params={PARAMS}") for _ in range(2)]
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
    return project, results


def test_training_logs_the_seed_lines_and_progress(trained_twice):
    _, (result, _) = trained_twice
    log = result.stdout + result.stderr
    assert "After 0 training step(s), validation accuracy using average model is" in log
    assert "After 300 training step(s), test accuracy using average model is" in log
    assert "[300/300 steps, 100%" in log


def test_run_records_params_metrics_checkpoint_and_model(trained_twice):
    project, _ = trained_twice
    client, runs = mlflow_store(project)
    assert len(runs) == 2
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.params["train.steps"] == "300"
    assert run.data.params["train.learning_rate_base"] == "0.8"
    assert run.data.metrics["test_accuracy"] > 0.5  # ten classes: chance is 0.1
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
    mlmodel = (model_dir / "MLmodel").read_text()
    assert "keras" in mlmodel
    assert '"name": "pixels"' in mlmodel and '"shape": [-1, 784]' in mlmodel
    assert "tensorflow==" in (model_dir / "requirements.txt").read_text()
    assert (project / "data" / "06_models" / "checkpoint" / "checkpoint").is_file()
    assert len(list((project / "data" / "06_models" / "mnist_mlp.keras").iterdir())) == 2


def test_same_seed_gives_identical_metrics(trained_twice):
    project, _ = trained_twice
    client, (second, first) = mlflow_store(project)

    def series(run):
        return [
            (m.step, m.value)
            for m in sorted(client.get_metric_history(run.info.run_id, "train_loss"), key=lambda m: m.step)
        ]

    assert series(first) == series(second)
    assert first.data.metrics == second.data.metrics


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
    _, runs = mlflow_store(project)
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
    evaluation, training = runs[0], runs[1]
    assert evaluation.info.run_name == "evaluate" and training.info.run_name == "train"
    assert evaluation.data.tags["training_run_id"] == training.info.run_id
    assert evaluation.data.metrics["test_accuracy"] == pytest.approx(
        training.data.metrics["test_accuracy"], abs=1e-6
    )
    assert evaluation.data.metrics["test_loss"] > 0
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


def test_evaluate_without_a_model_says_to_train_first(tmp_path):
    project = copy_project(tmp_path / "project")
    write_model_input(project, _model_input())
    result = run_kedro(project, "run", "--pipeline=evaluate")
    assert result.returncode == 1
    assert "There is no trained model yet" in result.stderr
    assert "run `kedro run` first" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    _, runs = mlflow_store(project) if (project / "mlflow.db").exists() else (None, [])
    assert all(run.info.status != "RUNNING" for run in runs)


def test_exploration_notebook_runs_top_to_bottom(evaluated):
    import shutil

    import nbformat
    from nbclient import NotebookClient

    from ..conftest import PROJECT_ROOT

    notebooks = evaluated / "notebooks"
    notebooks.mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "notebooks" / "exploration.ipynb", notebooks)
    notebook = nbformat.read(notebooks / "exploration.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(notebooks)}}).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 4
