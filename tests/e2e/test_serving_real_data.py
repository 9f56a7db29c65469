"""End to end on the real MNIST files: the served model, ``predict``, the MLflow UI, the
drawing page and the exploration notebook.

One default ``kedro run`` (all stages, the seed's 20,000 steps: ``trained_real_project``)
logged and registered the model; the tests use a copy of it as a user would.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ..conftest import PROJECT_ROOT
from ..project import artifact_paths, copy_outputs, copy_project, mlflow_store, run_kedro
from .servers import free_port, listening_addresses, running_server

LOCATION_VARIABLE = "MNIST_PIPELINE_PREDICTION_LOG"

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def project(tmp_path_factory, trained_real_project):
    """A copy of the project after a default ``kedro run`` on the real files."""
    root = copy_project(tmp_path_factory.mktemp("serving") / "project", exports=True)
    return copy_outputs(trained_real_project, root)


def _test_split(project: Path) -> tuple[np.ndarray, np.ndarray]:
    intermediate = project / "data" / "02_intermediate"
    return np.load(intermediate / "test_images.npy"), np.load(intermediate / "test_labels.npy")


def test_the_default_run_logs_and_registers_the_model_as_champion(project):
    client, (run,) = mlflow_store(project, "__default__")
    champion = client.get_model_version_by_alias("mnist_classifier", "champion")
    assert champion.run_id == run.info.run_id and str(champion.version) == "1"
    assert champion.tags["promotion"].startswith("champion: the first version")
    # Re-scored by the gate through the served model: the training loop's own figure.
    assert float(champion.tags["val_accuracy"]) == pytest.approx(
        run.data.metrics["val_accuracy"], abs=2e-4
    )
    assert {"reports/training_history.csv", "checkpoint/checkpoint"} <= artifact_paths(
        client, run.info.run_id
    )


def _post(url: str, body: dict | bytes) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def served(project):
    """The README's ``mlflow models serve`` of the champion, on a free port, for every test
    of the module: its address and port."""
    port = free_port()
    command = [
        str(BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        "models:/mnist_classifier@champion",
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        LOCATION_VARIABLE: str(project / "served-log"),  # the log, where a team puts it
    }
    base = f"http://127.0.0.1:{port}"
    with running_server(command, project, f"{base}/health", env=env, timeout=180):
        yield base, port


def test_served_champion_answers_like_evaluate_and_refuses_bad_requests(project, served):
    images, _ = _test_split(project)
    # The digits the evaluate stage of the same run predicted for the test set.
    evaluated = np.load(project / "data" / "07_model_output" / "test_logits.npy").argmax(axis=1)
    base, port = served
    assert listening_addresses(port) == {"127.0.0.1"}
    status, answer = _post(f"{base}/invocations", {"inputs": images[:1000].tolist()})
    assert status == 200
    predictions = pd.DataFrame(answer["predictions"])
    assert list(predictions.columns) == [
        "digit",
        "probability",
        *(f"p{d}" for d in range(10)),
        "digit_likeness",
        "rejected",
        "reason",
    ]
    # The digits evaluate predicted, except where the model turned an image away.
    answered = ~predictions["rejected"].to_numpy(bool)
    assert answered.mean() > 0.97
    np.testing.assert_array_equal(predictions["digit"][answered], evaluated[:1000][answered])
    assert predictions["digit"][~answered].isna().all()
    np.testing.assert_allclose(predictions[[f"p{d}" for d in range(10)]].sum(axis=1), 1.0)

    bad_requests = {
        "wrong shape": ({"inputs": [images[0][:27].tolist()]}, "shape"),
        "above 255": ({"inputs": [(images[0].astype(int) + 256).tolist()]}, "0..255"),
        "negative": ({"inputs": [(images[0].astype(int) - 1).tolist()]}, "0..255"),
        "fraction": (
            {"inputs": [(np.minimum(images[0], 200) + 0.5).tolist()]},
            "whole numbers",
        ),
        "strings": ({"inputs": [[["a"] * 28] * 28]}, "numbers 0..255"),
        "no images": ({"inputs": []}, ""),
        "no inputs key": ({"images": [images[0].tolist()]}, "inputs"),
        "not JSON": (b"{not json", "valid JSON"),
    }
    for name, (body, words) in bad_requests.items():
        status, answer = _post(f"{base}/invocations", body)
        assert 400 <= status < 500, (name, status, answer)
        assert words in answer.get("message", ""), (name, answer)

    status, answer = _post(f"{base}/invocations", {"inputs": [images[1].tolist()]})
    assert status == 200  # still serving after the bad requests
    assert [p["digit"] for p in answer["predictions"]] == [evaluated[1]]


def _render(image: np.ndarray, rng: np.random.Generator, index: int) -> Image.Image:
    """A test digit as a user might photograph it: other size, offset, polarity, mode."""
    size = int(rng.integers(40, 200))
    digit = Image.fromarray(image).resize(
        (size, int(size * rng.uniform(0.8, 1.25))), Image.Resampling.BICUBIC
    )
    page = Image.new(
        "L", (digit.width + int(rng.integers(0, 150)), digit.height + int(rng.integers(0, 150))), 0
    )
    page.paste(
        digit,
        (
            int(rng.integers(0, page.width - digit.width + 1)),
            int(rng.integers(0, page.height - digit.height + 1)),
        ),
    )
    if index % 2:
        page = Image.eval(page, lambda value: 255 - value)  # dark on light
    return page.convert("RGB") if index % 3 == 0 else page


def test_predict_reads_a_folder_of_real_digits_and_reports_bad_files(project):
    images, labels = _test_split(project)
    folder = project / "data" / "01_raw" / "new_digits"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    count = 300
    for index in range(count):
        extension = ("png", "jpg", "bmp")[index % 3]
        _render(images[index], rng, index).save(folder / f"{index:03d}.{extension}")
    (folder / "zz_broken.png").write_bytes(b"this is not an image")
    Image.new("L", (60, 40), 250).save(folder / "zz_blank.png")

    result = run_kedro(project, "run", "--pipeline=predict")
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert f"Predicted {count} of {count + 2} image file(s); 2 could not be read" in " ".join(
        log.split()
    )
    report = pd.read_csv(project / "data" / "07_model_output" / "predictions.csv")
    assert list(report.columns) == [
        "file",
        "digit",
        "probability",
        *(f"p{d}" for d in range(10)),
        "digit_likeness",
        "rejected",
        "reason",
        "error",
    ]
    failed = report.set_index("file").loc[["zz_blank.png", "zz_broken.png"]]
    assert failed["digit"].isna().all()
    assert failed.loc["zz_blank.png", "error"].startswith("no ink")
    assert failed.loc["zz_broken.png", "error"].startswith("not a readable PNG, JPEG or BMP")
    predicted = report[report["error"].isna()]
    truth = labels[predicted["file"].str[:3].astype(int).to_numpy()]
    accuracy = float((predicted["digit"].to_numpy() == truth).mean())
    assert accuracy >= 0.97, accuracy

    client, runs = mlflow_store(project)
    predict_run = next(run for run in runs if run.info.run_name == "predict")
    champion = client.get_model_version_by_alias("mnist_classifier", "champion")
    assert predict_run.data.tags["registered_model_version"] == str(champion.version)
    assert predict_run.data.tags["model_uri"] == f"models:/mnist_classifier/{champion.version}"
    assert "predictions/predictions.csv" in artifact_paths(client, predict_run.info.run_id)


def test_predict_without_images_is_one_clear_message(project, tmp_path):
    folder = project / "data" / "01_raw" / "new_digits"
    kept = tmp_path / "kept"
    if folder.exists():
        folder.rename(kept)
    try:
        result = run_kedro(project, "run", "--pipeline=predict")
    finally:
        if kept.exists():
            kept.rename(folder)
    assert result.returncode == 1
    assert "There are no image files in" in result.stderr
    assert "new_digits" in result.stderr and "Traceback" not in result.stdout + result.stderr


@pytest.mark.skipif(BROWSER is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_mlflow_ui_opens_on_the_training_runs(project, tmp_path):
    client, runs = mlflow_store(project)
    experiment = client.get_experiment_by_name("mnist_pipeline").experiment_id
    port = free_port()
    command = [
        str(BIN / "mlflow"),
        "ui",
        "--backend-store-uri",
        "sqlite:///mlflow.db",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # The address the README gives for the experiment's runs.
    url = f"http://127.0.0.1:{port}/#/experiments/{experiment}?workflowType=machine_learning"
    browser = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1400,900",
        "--virtual-time-budget=20000",
    ]
    screenshot = tmp_path / "mlflow-ui.png"
    with running_server(
        command,
        project,
        f"http://127.0.0.1:{port}/health",
        env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    ):
        subprocess.run(
            [*browser, f"--screenshot={screenshot}", url],
            check=True,
            capture_output=True,
            timeout=120,
        )
        page = subprocess.run(
            [*browser, "--dump-dom", url],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(screenshot).size == (1400, 900)
    # The runs table, with the project's runs, not the GenAI overview of traces.
    for run in runs:
        assert run.info.run_name in page
    assert "Run Name" in page and "matching runs" in page
    assert "Detect Issues" not in page


def _encoded(image: Image.Image, file_format: str) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    image.save(buffer, format=file_format)
    return base64.b64encode(buffer.getvalue()).decode()


def test_served_image_files_are_answered_as_predict_answers_them(project, served):
    images, labels = _test_split(project)
    rng = np.random.default_rng(7)
    folder = project / "data" / "01_raw" / "new_digits"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    formats = {"PNG": "png", "JPEG": "jpg", "BMP": "bmp"}
    records, truth = [], {}
    for index in range(90):
        file_format = list(formats)[index % 3]
        name = f"digit-{index:03d}.{formats[file_format]}"
        picture = _render(images[index], rng, index)
        picture.save(folder / name, format=file_format)
        records.append({"image": _encoded(picture, file_format), "name": name})
        truth[name] = int(labels[index])
    result = run_kedro(project, "run", "--pipeline=predict")
    assert result.returncode == 0, result.stderr[-3000:]
    by_predict = pd.read_csv(project / "data" / "07_model_output" / "predictions.csv")
    status, answer = _post(f"{served[0]}/invocations", {"dataframe_records": records})
    assert status == 200, answer
    served = pd.DataFrame(answer["predictions"])
    assert served["name"].tolist() == [r["name"] for r in records]
    assert (served["error"] == "").all()
    merged = served.merge(by_predict, left_on="name", right_on="file")
    assert len(merged) == 90
    assert (merged["digit_x"].astype(int) == merged["digit_y"].astype(int)).all()
    accuracy = np.mean(
        [truth[n] == d for n, d in zip(served["name"], served["digit"], strict=True)]
    )
    assert accuracy >= 0.95


def test_bad_image_requests_are_400s_naming_the_item_and_serving_goes_on(project, served):
    images, _ = _test_split(project)
    good = _encoded(Image.fromarray(images[0]), "PNG")
    huge = _encoded(Image.new("L", (6000, 6000), 255), "PNG")  # 36 million pixels
    bad_requests = {
        "undecodable": ({"inputs": [good, "%%% not base64"]}, "Image 1 is not base64"),
        "named": (
            {"dataframe_records": [{"image": "@@", "name": "scan.png"}]},
            "Image 0 ('scan.png') is not base64",
        ),
        "mixed kinds": ({"inputs": [good, images[0].tolist()]}, ""),
        "too many pixels": ({"inputs": [huge]}, "Image 0 is 6000x6000 pixels, over"),
        "too many bytes": ({"inputs": ["A" * 7_000_000]}, "Image 0 is over 5,000,000 bytes"),
        "too many images": ({"inputs": [good] * 10_001}, "The request holds 10,001 images"),
    }
    base = served[0]
    for name, (body, first_line) in bad_requests.items():
        status, answer = _post(f"{base}/invocations", body)
        assert status == 400, (name, status, answer)
        message = answer.get("message", "")
        assert message.splitlines()[0].startswith(first_line), (name, message[:300])
        assert "Failed to predict data" not in message.splitlines()[0]
    blank = _encoded(Image.new("L", (50, 50), 255), "PNG")
    status, answer = _post(f"{base}/invocations", {"inputs": [good, blank]})
    assert status == 200  # still serving; an image without ink is that row's error
    rows = answer["predictions"]
    assert rows[0]["error"] == "" and rows[1]["error"].startswith("no ink")
    assert rows[1].get("digit") is None


def test_the_champions_exports_are_on_its_version_and_equal_to_the_keras_model(project):
    import mlflow

    from mnist_pipeline.datasets import KerasModelDataset

    mlflow.set_tracking_uri(f"sqlite:///{project / 'mlflow.db'}")
    model_dir = Path(mlflow.artifacts.download_artifacts("models:/mnist_classifier@champion"))
    artifacts = model_dir / "artifacts"
    assert (artifacts / "saved_model" / "saved_model.pb").is_file()
    assert (artifacts / "model.onnx").is_file() and (artifacts / "model.tflite").is_file()

    images, _ = _test_split(project)
    pixels = images.astype(np.float32)
    keras_model = KerasModelDataset(
        str(project / "data" / "06_models" / "mnist_model.keras")
    ).load()
    logits = np.asarray(keras_model(pixels.reshape(len(pixels), -1) / 255.0, training=False))
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)

    import onnxruntime
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    session = onnxruntime.InferenceSession(str(artifacts / "model.onnx"))
    by_onnx = session.run(None, {session.get_inputs()[0].name: pixels})[0]
    saved = tf.saved_model.load(str(artifacts / "saved_model"))
    by_saved_model = np.asarray(saved.serve(tf.constant(pixels)))
    interpreter = Interpreter(model_path=str(artifacts / "model.tflite"))
    signature = interpreter.get_signature_runner()
    (input_name,) = signature.get_input_details()
    by_litert = np.concatenate(
        [
            next(iter(signature(**{input_name: pixels[i : i + 1000]}).values()))
            for i in range(0, len(pixels), 1000)
        ]
    )
    for name, probabilities in (
        ("onnx", by_onnx),
        ("saved_model", by_saved_model),
        ("litert", by_litert),
    ):
        assert probabilities.shape == (10_000, 10), name
        np.testing.assert_array_equal(probabilities.argmax(1), expected.argmax(1), err_msg=name)
        np.testing.assert_allclose(probabilities, expected, atol=1e-5, err_msg=name)


#: Mouse paths of digits in the drawing box, from its centre, in half-sides of the box.
STROKES = {
    "0": [
        [
            (0.45 * math.sin(2 * math.pi * t / 40), -0.7 * math.cos(2 * math.pi * t / 40))
            for t in range(41)
        ]
    ],
    "1": [[(0.0, -0.75), (0.0, 0.75)]],
    "7": [[(-0.55, -0.7), (0.55, -0.7), (-0.05, 0.75)]],
}


def _draw(page, strokes, half_side: float = 110, step_pixels: float = 10) -> None:
    """Draw ``strokes`` with the mouse (pointer events) on the page's sketchpad, a move
    every ``step_pixels`` or so along each segment (each move is a round trip to the page)."""
    box = page.locator("#drawing canvas").first.bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for stroke in strokes:
        page.mouse.move(centre_x + stroke[0][0] * half_side, centre_y + stroke[0][1] * half_side)
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
            moves = max(1, math.ceil(math.dist((x0, y0), (x1, y1)) * half_side / step_pixels))
            for k in range(1, moves + 1):
                x, y = x0 + (x1 - x0) * k / moves, y0 + (y1 - y0) * k / moves
                page.mouse.move(centre_x + x * half_side, centre_y + y * half_side)
        page.mouse.up()


def _upload(page, url: str, path: Path) -> None:
    """Choose ``path`` in the upload tab of a freshly opened page, as a person would."""
    page.goto(url)
    page.get_by_role("tab", name="Upload an image").click()
    with page.expect_file_chooser() as chooser:
        page.locator("#upload button.upload-container").click()
    chooser.value.set_files(path)


def _message_says(page, source: str, text: str) -> str:
    selector = f"#{source}-message"
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector).innerText.includes(text)",
        arg=[selector, text],
        timeout=60_000,
    )
    return page.locator(selector).inner_text()


def test_the_drawing_page_reads_digits_drawn_and_uploaded_in_a_real_browser(project, tmp_path):
    from playwright.sync_api import sync_playwright

    images, labels = _test_split(project)
    digit_file = tmp_path / "test-digit-0.png"
    Image.fromarray(images[0]).save(digit_file)  # the test split's first digit
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not an image")
    port = free_port()
    command = [str(BIN / "kedro"), "demo", "--port", str(port)]
    url = f"http://127.0.0.1:{port}/"
    hosts = set()
    page_log = tmp_path / "page-log"
    env = {LOCATION_VARIABLE: str(page_log)}
    with (
        running_server(command, project, url, env=env, timeout=180),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
            page.goto(url)
            page.wait_for_selector("#drawing canvas")
            assert "Draw a digit" in page.locator("#drawing-message").inner_text()
            for answered, (digit, strokes) in enumerate(STROKES.items(), start=1):
                _draw(page, strokes)
                assert f"The model reads a {digit} " in _message_says(page, "drawing", "reads")
                model = page.locator("#drawing-model").inner_text()
                assert "mnist_classifier version 1" in model
                # the loop, seen: what the page has answered, from the log it writes
                assert f"{answered} image(s) answered since the page started" in model
                assert page.locator("#drawing-received img").count() == 1
                if digit == "7":
                    page.screenshot(path=tmp_path / "demo-page.png")
                page.locator("#drawing button[aria-label='Clear canvas']").click()
                _message_says(page, "drawing", "Draw a digit")  # an empty canvas
            _upload(page, url, digit_file)
            assert f"The model reads a {labels[0]} " in _message_says(page, "upload", "reads")
            _upload(page, url, not_an_image)
            assert "not a readable PNG, JPEG or BMP" in _message_says(page, "upload", "No digit")
            records = _wait_for_records(page_log, len(STROKES) + 1)  # a file is no answer
        finally:
            browser.close()
    assert set(records["source"]) == {"page"} and set(records["model_version"]) == {"1"}
    assert records["digit"].astype(str).tolist() == [*STROKES, str(labels[0])]
    assert hosts == {f"127.0.0.1:{port}"}  # nothing fetched from the internet
    keep = os.environ.get("MNIST_PIPELINE_SCREENSHOTS")
    if keep:  # how the README's screenshot is made
        shutil.copy(tmp_path / "demo-page.png", Path(keep) / "demo-page.png")


def test_exploration_notebook_runs_top_to_bottom(project):
    import nbformat
    from nbclient import NotebookClient

    notebooks = project / "notebooks"
    notebooks.mkdir(exist_ok=True)
    shutil.copy(PROJECT_ROOT / "notebooks" / "exploration.ipynb", notebooks)
    notebook = nbformat.read(notebooks / "exploration.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=600, resources={"metadata": {"path": str(notebooks)}}
    ).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 4


def _wait_for_records(folder: Path, count: int, timeout: float = 60) -> pd.DataFrame:
    """The log in ``folder`` once it holds ``count`` records (the servers write a batch
    when it fills or when its oldest record has waited flush_seconds)."""
    from mnist_pipeline.monitoring.prediction_log import read_prediction_log

    deadline = time.monotonic() + timeout
    while len(records := read_prediction_log(str(folder))) < count:
        assert time.monotonic() < deadline, f"{len(records)} of {count} records in the log"
        time.sleep(0.2)
    return records


def _rotated(images: np.ndarray, seed: int = 0) -> np.ndarray:
    from scipy.ndimage import rotate

    rng = np.random.default_rng(seed)
    angles = rng.uniform(20, 30, len(images)) * rng.choice([-1, 1], len(images))
    turned = [
        np.clip(rotate(image.astype(float), angle, reshape=False, order=1), 0, 255)
        for image, angle in zip(images, angles, strict=True)
    ]
    return np.stack(turned).astype(np.uint8)


def test_the_monitor_sees_test_digits_as_no_drift_and_rotated_ones_as_drift(project, served):
    """The README's loop: serve the champion, send it images, run the monitor, read the
    verdict in MLflow."""
    base, _ = served
    log = project / "served-log"
    before = len(_wait_for_records(log, 0))
    images, _ = _test_split(project)
    env = {LOCATION_VARIABLE: str(log)}
    for kind, sent, drift in (
        ("test digits", images[:1000], False),
        ("rotated", _rotated(images[:1000]), True),
    ):
        for start in range(0, len(sent), 100):
            status, _ = _post(f"{base}/invocations", {"inputs": sent[start : start + 100].tolist()})
            assert status == 200
        before += len(sent)
        records = _wait_for_records(log, before)
        assert len(records) == before  # each answered image once
        assert set(records["source"]) == {"server"}
        assert set(records["model_run_id"]) == {
            mlflow_store(project, "__default__")[1][0].info.run_id
        }

        result = run_kedro(
            project, "run", "--pipeline=monitor", "--params=monitor.last_records=1000", env=env
        )
        output = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 0, output[-3000:]
        verdict = json.loads((project / "data/08_reporting/drift_verdict.json").read_text())
        assert verdict["drift"] is drift, (kind, verdict)
        if drift:
            assert "Drift found in 1000 records" in output
            assert {"ink_height", "max_intensity"} <= set(verdict["moved"])
        else:
            assert "No drift in 1000 records" in output
        client, (run, *_) = mlflow_store(project, "monitor")
        assert run.info.status == "FINISHED"
        assert run.data.metrics["monitor.drift"] == float(drift)
        assert run.data.metrics["monitor.records"] == 1000
        assert run.data.tags["monitored_model_version"] == "1"
        assert "monitoring/monitoring_report.html" in artifact_paths(client, run.info.run_id)


def test_a_server_killed_under_load_loses_at_most_one_batch_per_worker(project, tmp_path):
    """16 clients send single images to a server with 2 workers, which is then killed with
    SIGKILL: the log holds every answered image once, but for at most flush_every per
    worker not yet written, and every file in it reads."""
    import threading

    from mnist_pipeline.monitoring.features import image_features
    from mnist_pipeline.monitoring.prediction_log import read_prediction_log

    images, _ = _test_split(project)
    features = image_features(images).round(6)
    unique = ~features.duplicated(keep=False)  # images told apart by their features
    images, features = images[unique.to_numpy()][:4000], features[unique][:4000]
    key = lambda table: list(map(tuple, table.round(6).to_numpy()))  # noqa: E731
    log, port = tmp_path / "log", free_port()
    command = [
        str(BIN / "mlflow"), "models", "serve", "-m", "models:/mnist_classifier@champion",
        "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
    ]  # fmt: skip
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}", LOCATION_VARIABLE: str(log)}
    answered, lock, stop = [], threading.Lock(), threading.Event()
    url = f"http://127.0.0.1:{port}"

    def client(first: int) -> None:
        for index in range(first, len(images), 16):
            if stop.is_set():
                return
            try:
                status, _ = _post(f"{url}/invocations", {"inputs": [images[index].tolist()]})
            except OSError:
                return  # the server was killed under it
            if status == 200:
                with lock:
                    answered.append(index)

    with running_server(command, project, f"{url}/health", env=env, timeout=180) as server:
        clients = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 60
        while len(answered) < 1500 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(server.pid, signal.SIGKILL)
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
    records = read_prediction_log(str(log))
    files = list(log.glob("*.parquet"))
    assert len(records) == sum(len(pd.read_parquet(f)) for f in files)  # every file reads
    logged = key(records[features.columns])
    sent = dict(zip(key(features), range(len(features)), strict=True))
    assert len(set(logged)) == len(logged)  # nothing twice
    logged_indices = {sent[k] for k in logged}  # and nothing that was not sent
    flush_every = 32
    assert len(set(answered) - logged_indices) <= 2 * flush_every, len(answered)
    assert len(logged_indices - set(answered)) <= 16  # answered as the kill came
    assert len(answered) >= 1000
