"""No command prints a warning a user cannot act on: every registered pipeline, and viz.

Each pipeline runs, in order, in one temporary project on the real MNIST files (training
short), and its whole log is read as a user would: no WARNING, no deprecation notice, no
library banner.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mnist_pipeline.pipeline_registry import register_pipelines

from ..conftest import MNIST_FILES
from ..project import copy_project, run_kedro
from .servers import free_port, running_server

pytestmark = pytest.mark.slow

SHORT = "--params=train.steps=300,train.eval_every=100"
#: Every registered pipeline, in an order in which each finds its inputs, and its arguments.
RUNS = {
    "ingest": [],
    "preprocess": [],
    "train": [SHORT],
    "register": [],
    "evaluate": [],
    "predict": [],
    "monitor": [],  # predict's 3 records: too few, said in one line
    "tune": [  # the study keeps train.steps for train_best: short too
        f"{SHORT},tune.trials=2,tune.steps=300,tune.eval_every=100,tune.startup_trials=1,"
        "tune.pruner_startup_trials=1,tune.pruner_warmup_steps=0"
    ],
    "train_best": [],
    "__default__": [SHORT],
}
#: What a user cannot act on: a warning, a deprecation, a traceback, and any line of
#: TensorFlow's C++ logging (absl's ``I0000``/``W0000``/``E0000`` prefixes: its start-up
#: banner, its exporters' notes).
NOISE = (
    "WARNING",
    "Warning",
    "deprecated",
    "oneDNN",
    "cuInit",
    "Traceback",
    "I0000",
    "W0000",
    "E0000",
)


def test_every_registered_pipeline_is_run_here():
    assert set(RUNS) == set(register_pipelines())


@pytest.fixture(scope="module")
def project(tmp_path_factory, real_mnist_dir):
    root = copy_project(tmp_path_factory.mktemp("quiet") / "project", exports=True)
    for name in MNIST_FILES:
        shutil.copy(real_mnist_dir / name, root / "data" / "01_raw" / name)
    digits = root / "data" / "01_raw" / "new_digits"
    digits.mkdir()
    raw = gzip.decompress((real_mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    test_images = np.frombuffer(raw[16:], np.uint8).reshape(-1, 28, 28)
    for index in range(3):
        Image.fromarray(255 - test_images[index]).save(digits / f"digit-{index}.png")
    return root


@pytest.mark.parametrize("pipeline", list(RUNS))
def test_the_run_prints_no_warning(project, pipeline):
    args = ["run"] + ([] if pipeline == "__default__" else [f"--pipeline={pipeline}"])
    result = run_kedro(project, *args, *RUNS[pipeline])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    noisy = [line for line in log.splitlines() if any(word in line for word in NOISE)]
    assert not noisy, "\n".join(noisy)


def test_kedro_viz_prints_no_warning(project):
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("kedro")),
        "viz",
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-browser",
    ]
    with running_server(
        command, project, f"http://127.0.0.1:{port}/api/main", env={"KEDRO_DISABLE_TELEMETRY": "1"}
    ):
        pass
    (log,) = project.glob("server-kedro-*.log")
    noisy = [line for line in log.read_text().splitlines() if any(w in line for w in NOISE)]
    assert not noisy, "\n".join(noisy)
