"""kedro viz and the MLflow UI, started as the README says, answer on 127.0.0.1."""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from ..project import copy_project
from .servers import free_port, get_json, listening_addresses, running_server

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def test_kedro_viz_lists_every_pipeline_with_layers_and_previews(tmp_path):
    project = copy_project(tmp_path / "project")
    confusion = pd.DataFrame([[3, 1], [0, 4]], index=["0", "1"], columns=["0", "1"])
    confusion.to_csv(project / "data" / "08_reporting" / "confusion_matrix.csv")
    from mnist_pipeline.pipelines.evaluate.nodes import plot_confusion_matrix

    plot_confusion_matrix(confusion).savefig(
        project / "data" / "08_reporting" / "confusion_matrix.png"
    )
    port = free_port()
    command = [
        str(BIN / "kedro"),
        "viz",
        "run",
        "--no-browser",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    base = f"http://127.0.0.1:{port}"
    with running_server(command, project, f"{base}/api/main", env={"KEDRO_DISABLE_TELEMETRY": "1"}):
        assert listening_addresses(port) == {"127.0.0.1"}
        graph = get_json(f"{base}/api/main")
        pipelines = {p["id"] for p in graph["pipelines"]}
        assert {"ingest", "preprocess", "train", "evaluate", "__default__"} <= pipelines
        data_nodes = [n for n in graph["nodes"] if n["type"] == "data"]
        assert data_nodes and all(n.get("layer") for n in data_nodes), [
            n["name"] for n in data_nodes if not n.get("layer")
        ]
        assert [layer for layer in graph["layers"]] == [
            "raw",
            "intermediate",
            "feature",
            "model_input",
            "models",
            "model_output",
            "reporting",
        ]
        tasks = {n["name"]: n for n in graph["nodes"] if n["type"] == "task"}
        assert "train_model" in tasks and tasks["train_model"]["tags"] == ["train"]
        ids = {n["name"]: n["id"] for n in data_nodes}
        table = get_json(f"{base}/api/nodes/{ids['confusion_matrix']}")
        assert table["preview_type"] == "TablePreview"
        assert table["preview"]["data"] == [[3, 1], [0, 4]]
        image = get_json(f"{base}/api/nodes/{ids['confusion_matrix_plot']}")
        assert image["preview_type"] == "ImagePreview"
        assert image["preview"].startswith("iVBORw0KGgo")  # base64 of the PNG signature


def test_mlflow_ui_serves_the_runs_metric_history_and_artifacts(tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment(
        "mnist_pipeline", artifact_location=(tmp_path / "mlruns").as_uri()
    )
    run = client.create_run(experiment, run_name="train")
    for step, value in [(0, 0.1), (100, 0.9), (200, 0.95)]:
        client.log_metric(run.info.run_id, "val_accuracy", value, step=step)
    report = tmp_path / "training_history.csv"
    report.write_text("step,val_accuracy\n0,0.1\n")
    client.log_artifact(run.info.run_id, str(report), "reports")
    client.set_terminated(run.info.run_id)

    port = free_port()
    # The README's command, on this store and a free port.
    command = [
        str(BIN / "mlflow"),
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    base = f"http://127.0.0.1:{port}"
    with running_server(
        command, tmp_path, f"{base}/health", env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    ):
        assert listening_addresses(port) == {"127.0.0.1"}
        query = urllib.parse.urlencode({"run_id": run.info.run_id, "metric_key": "val_accuracy"})
        history = get_json(f"{base}/api/2.0/mlflow/metrics/get-history?{query}")["metrics"]
        assert sorted((m["step"], m["value"]) for m in history) == [
            (0, 0.1),
            (100, 0.9),
            (200, 0.95),
        ]
        query = urllib.parse.urlencode({"run_id": run.info.run_id, "path": "reports"})
        files = get_json(f"{base}/api/2.0/mlflow/artifacts/list?{query}")["files"]
        assert [f["path"] for f in files] == ["reports/training_history.csv"]
