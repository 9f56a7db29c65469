"""Shared fixtures: small IDX data written by the tests, the real MNIST files, a mirror."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock
from kedro.io import DataCatalog, MemoryDataset

from . import idx_files

PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: The four original MNIST files, in ../shared/data/mnist/ beside the project; override with
#: MNIST_DATA_DIR to point the real-data tests elsewhere.
REAL_MNIST_DIR = Path(os.environ.get("MNIST_DATA_DIR", PROJECT_ROOT.parent / "shared/data/mnist"))
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


#: The test files that take longest, longest first (CI's ``--durations``; see
#: docs/contributing.md). pytest-xdist hands whole files to its workers in collection order,
#: so these start first and the short files fill in at the end, instead of one worker
#: starting a five-minute file while the other has nothing left to do.
LONGEST_FILES = (
    "tests/e2e/test_team_server.py",
    "tests/mutations/test_training_math.py",
    "tests/mutations/test_default_run.py",
    "tests/e2e/test_resume_and_concurrency.py",
    # Not first: in CI its environment is still being installed when the tests start.
    "tests/e2e/test_airflow.py",
    "tests/e2e/test_kedro_run_real_data.py",
    "tests/mutations/test_data_serving_registry.py",
    "tests/e2e/test_quiet_log.py",
    "tests/e2e/test_serving_real_data.py",
    "tests/e2e/test_gate.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, then the other files with slow tests, then the fast files
    (a stable sort: a file's tests stay together and in their order)."""

    def file_of(item: pytest.Item) -> str:
        return Path(item.path).relative_to(PROJECT_ROOT).as_posix()

    slow_files = {file_of(item) for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> tuple[int, int]:
        path = file_of(item)
        if path in LONGEST_FILES:
            return (0, LONGEST_FILES.index(path))
        return (1, 0) if path in slow_files else (2, 0)

    items.sort(key=rank)


def pytest_configure(config: pytest.Config) -> None:
    """With as many xdist workers as cores (``-n auto``), each worker and what it starts
    runs on a core of its own: two TensorFlow processes on two shared cores spend CPU in
    each other's spinning thread pools, and the project sizes TensorFlow's threads by the
    cores a process may use (training/threads.py)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if not worker.startswith("gw") or not hasattr(os, "sched_getaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    if count == len(cores) > 1:
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


#: A test file marked slow as a whole.
SLOW_FILE = re.compile(r"^pytestmark = pytest\.mark\.slow\b", re.MULTILINE)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m "not slow"``, a test file marked slow as a whole is not even imported:
    most of them import TensorFlow, which is seconds of every worker's collection."""
    if (
        config.getoption("markexpr") == "not slow"
        and collection_path.name.startswith("test_")
        and collection_path.suffix == ".py"
        and SLOW_FILE.search(collection_path.read_text())
    ):
        return True
    return None


@pytest.fixture(scope="session")
def real_mnist_dir() -> Path:
    """The folder holding the real MNIST files; skips the test when they are absent."""
    if not all((REAL_MNIST_DIR / name).is_file() for name in MNIST_FILES):
        pytest.skip(f"real MNIST files not found in {REAL_MNIST_DIR} (set MNIST_DATA_DIR)")
    return REAL_MNIST_DIR


#: A project in which a default ``kedro run`` has just run on the real MNIST files (CI sets
#: it to the checkout after its own run): the tests take its outputs instead of training
#: the same model again.
TRAINED_PROJECT_VARIABLE = "MNIST_PIPELINE_TRAINED_PROJECT"


def _shared_folder(tmp_path_factory) -> Path:
    """A folder every pytest-xdist worker of this session sees (the session's base)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def trained_real_project(tmp_path_factory, real_mnist_dir) -> Path:
    """A project after a default ``kedro run`` on the real MNIST files: the seed's 20,000
    steps, evaluated, with the shipped gate and exports, its model version 1 and champion.

    Made once per test session, whichever worker asks first, or taken from the project
    named by ``MNIST_PIPELINE_TRAINED_PROJECT``. Tests never run anything in it: they copy
    what they need with :func:`tests.project.copy_outputs` into their own project.
    """
    from .project import copy_outputs, copy_project, run_kedro

    shared = _shared_folder(tmp_path_factory)
    root, failure = shared / "trained-real-project", shared / "trained-real-project.failed"
    with FileLock(str(shared / "trained-real-project.lock")):
        if failure.exists():  # another worker tried: do not train again only to fail again
            pytest.fail(failure.read_text())
        if not (root / ".complete").exists():
            shutil.rmtree(root, ignore_errors=True)
            copy_project(root, gate=None, exports=True)
            given = os.environ.get(TRAINED_PROJECT_VARIABLE)
            if given:
                if not (Path(given) / "data" / "06_models" / "model_registration.json").is_file():
                    pytest.fail(f"{TRAINED_PROJECT_VARIABLE}={given} holds no trained model")
                copy_outputs(Path(given).resolve(), root)
            else:
                for name in MNIST_FILES:
                    shutil.copy(real_mnist_dir / name, root / "data" / "01_raw" / name)
                result = run_kedro(root, "run")
                if result.returncode != 0:
                    failure.write_text(f"the default kedro run failed:\n{result.stderr[-3000:]}")
                    pytest.fail(failure.read_text())
            (root / ".complete").touch()
    return root


def make_split(n: int, seed: int, size: int = 28, num_classes: int = 10):
    """Random uint8 images whose brightest quadrant encodes the label: learnable, tiny."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % num_classes).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, size, size), dtype=np.uint8)
    rows = size // num_classes
    for i, label in enumerate(labels):
        images[i, label * rows : (label + 1) * rows, :] = 250
    return images, labels


def model_input(train: int, val: int, test: int) -> dict[str, np.ndarray]:
    """``x_train`` ... ``y_test`` as ``preprocess`` makes them, from :func:`make_split` data."""
    arrays = {}
    for seed, (split, n) in enumerate({"train": train, "val": val, "test": test}.items(), 1):
        images, labels = make_split(n, seed)
        arrays[f"x_{split}"] = images.reshape(n, -1).astype(np.float32) / 255
        arrays[f"y_{split}"] = np.eye(10, dtype=np.float32)[labels]
    return arrays


@pytest.fixture
def small_mnist() -> dict[str, np.ndarray]:
    """A tiny MNIST-shaped data set: 300 training and 100 test examples."""
    train_images, train_labels = make_split(300, seed=1)
    test_images, test_labels = make_split(100, seed=2)
    return {
        "raw_train_images": train_images,
        "raw_train_labels": train_labels,
        "raw_test_images": test_images,
        "raw_test_labels": test_labels,
    }


@pytest.fixture
def write_idx(tmp_path: Path) -> Callable[[str, np.ndarray], Path]:
    """Write an array as an IDX file (gzip when the name ends in .gz) under tmp_path."""

    return lambda name, array: idx_files.write_idx(tmp_path / name, array)


class Mirror:
    """A real HTTP server on 127.0.0.1 serving given bytes under given paths."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.failing: set[str] = set()
        self.requests: list[str] = []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                mirror.requests.append(self.path)
                if self.path in mirror.failing:
                    self.send_error(503, "mirror down")
                    return
                body = mirror.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    """A local mirror; register files with ``mirror.files['/a/name.gz'] = data``."""
    server = Mirror()
    yield server
    server.close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a mirror that is down (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class KeptMemoryDataset(MemoryDataset):
    """An in-memory dataset that survives the runner's release of intermediates, so a
    pipeline test can inspect every output after the run."""

    def _release(self) -> None:
        pass


def in_memory_catalog(inputs: dict, outputs) -> DataCatalog:
    """A catalog holding ``inputs`` and empty kept datasets for ``outputs``."""
    datasets = {name: KeptMemoryDataset(value) for name, value in inputs.items()}
    datasets.update({name: KeptMemoryDataset() for name in outputs if name not in inputs})
    return DataCatalog(datasets=datasets)
