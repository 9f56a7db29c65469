"""Run ``kedro`` in a temporary copy of this project, as a user would from its root."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .conftest import PROJECT_ROOT

DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)


#: The gate of the tests' projects, which train on tiny or short data: any model that
#: answers and is at least as accurate as the champion (the shipped criteria are for
#: real models: tests/e2e/test_gate.py uses them).
LENIENT_GATE = (
    "registry:\n  min_gain: 0.0\n  max_class_drop: 1.0\n  class_recall_floor: 0.0\n"
    "  max_shifted_drop: 1.0\n  max_calibration_rise: 1.0\n  smoke_images: 20\n"
)


#: The portable exports (SavedModel, ONNX, LiteRT) cost each training run a few seconds
#: and each registered version 6 MB more to upload and download; only the tests of the
#: exports and of a whole default run make them (``exports=True``).
NO_EXPORTS = "serving:\n  exports: []\n"


def copy_project(destination: Path, gate: str | None = LENIENT_GATE, exports: bool = False) -> Path:
    """Copy what ``kedro run`` needs (config, package, metadata) into an empty project;
    ``gate`` is its ``conf/local/parameters_registry.yml`` (``None``: the shipped one);
    ``exports`` keeps the shipped ``serving.exports`` (else none are made)."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(PROJECT_ROOT / name, destination / name)
    for environment in ("base", "server", "airflow"):
        shutil.copytree(PROJECT_ROOT / "conf" / environment, destination / "conf" / environment)
    (destination / "conf" / "local").mkdir()
    if gate is not None:
        (destination / "conf" / "local" / "parameters_registry.yml").write_text(gate)
    if not exports:  # in every environment a test runs (--env server, airflow too)
        for environment in ("local", "server", "airflow"):
            (destination / "conf" / environment / "parameters_serving.yml").write_text(NO_EXPORTS)
    shutil.copytree(
        PROJECT_ROOT / "src", destination / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    for layer in DATA_LAYERS:
        (destination / "data" / layer).mkdir(parents=True)
    return destination


def copy_outputs(source: Path, destination: Path, store: bool = True) -> Path:
    """Put what runs in project ``source`` made into project ``destination`` (made by
    :func:`copy_project`): its ``data/`` and, with ``store``, its MLflow store, relocated.

    ``source`` is only read: a test runs ``kedro`` in its own copy, never in a project
    that other tests share.
    """
    shutil.copytree(source / "data", destination / "data", dirs_exist_ok=True)
    if store:
        shutil.copy(source / "mlflow.db", destination / "mlflow.db")
        shutil.copytree(source / "mlruns", destination / "mlruns")
        relocate_mlflow_store(destination, source)
    return destination


#: The column types of MLflow's SQLite tables that hold text.
_TEXT_TYPES = ("CHAR", "TEXT", "JSON")


def relocate_mlflow_store(project: Path, old_root: Path) -> None:
    """Point the MLflow store copied into ``project`` at its own files.

    MLflow records absolute paths (artifact locations, the logged models' files, the
    run's ``project_path`` tag, the datasets' sources): each mention of ``old_root``
    becomes ``project``, so the copy neither reads nor writes the original's files.
    """
    old, new = str(old_root), str(project)
    with contextlib.closing(sqlite3.connect(project / "mlflow.db")) as database, database:
        tables = database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for (table,) in tables.fetchall():
            for _, column, kind, *_ in database.execute(f"PRAGMA table_info('{table}')"):
                if any(word in kind.upper() for word in _TEXT_TYPES):
                    database.execute(
                        f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?) '  # noqa: S608 (the store's own names)
                        f'WHERE instr("{column}", ?) > 0',
                        (old, new, old),
                    )
    for description in (project / "mlruns").rglob("MLmodel"):
        text = description.read_text()
        if old in text:
            description.write_text(text.replace(old, new))


def _kedro_environment(base: dict | None = None) -> dict:
    """``base`` (by default this process's environment), without telemetry, wide logs."""
    return {
        **(os.environ if base is None else base),
        "KEDRO_DISABLE_TELEMETRY": "1",
        "COLUMNS": "400",
    }


def run_kedro(
    project: Path, *args: str, timeout: float = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """``kedro <args>`` in ``project`` (``env``: variables to add); output captured, never
    raises on failure. A run that takes longer than ``timeout`` prints where each of its
    threads is (SIGUSR1) before it is killed, and the test fails with that."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kedro", *args],
        cwd=project,
        env={**_kedro_environment(), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its children (a served model's process) end with it
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGUSR1)
        time.sleep(2)
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
        raise AssertionError(
            f"kedro {' '.join(args)} did not finish in {timeout:.0f} s:\n{stderr[-6000:]}"
        ) from None
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


#: Where an unfinished training keeps its resume checkpoints.
CHECKPOINTS = Path("data") / "06_models" / "resume_checkpoints"


def _as_from_a_terminal() -> None:
    # Ctrl-C reaches the run as it would from a terminal, however pytest was started: a
    # background job of a non-interactive shell (`pytest &` in a script or CI) starts with
    # SIGINT ignored, the ignore is inherited across exec, and Python would then never
    # raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_kedro(project: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Start ``kedro run <args>`` in ``project`` in a process group of its own (so that a
    test can signal it as a terminal would); its output goes to ``project/kedro-*.log``."""
    log = open(project / f"kedro-{time.monotonic_ns()}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", *args],
        cwd=project,
        env=_kedro_environment(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_as_from_a_terminal,  # noqa: PLW1509 (no threads to deadlock here)
    )


def finish(process: subprocess.Popen, project: Path, timeout: float = 600) -> int:
    """Wait for a :func:`start_kedro` run; one that takes longer than ``timeout`` prints
    where each of its threads is (SIGUSR1: the project's ``kedro run`` has Python's fault
    handler print its stacks into its log) before it is killed and the test fails."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGUSR1)
        time.sleep(2)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(
            f"kedro run did not finish in {timeout:.0f} s; its log ends:\n"
            + kedro_logs(project)[-6000:]
        ) from None


def kedro_logs(project: Path) -> str:
    """The output of every :func:`start_kedro` in ``project``, oldest first."""
    return "\n".join(p.read_text() for p in sorted(project.glob("kedro-*.log")))


def wait_for_checkpoints(project: Path, process: subprocess.Popen, count: int) -> None:
    """Wait until the training run ``process`` has saved ``count`` resume checkpoints."""
    deadline = time.monotonic() + 300
    while len(list((project / CHECKPOINTS).glob("ckpt-*.json"))) < count:
        assert process.poll() is None, (
            f"training ended before it could be interrupted:\n{kedro_logs(project)[-3000:]}"
        )
        assert time.monotonic() < deadline, "no checkpoints appeared"
        time.sleep(0.05)


def write_model_input(project: Path, arrays: dict[str, np.ndarray]) -> None:
    """Put ``x_train``... ``y_test`` where the ``train`` pipeline reads them, and the
    shifted slices the gate and ``evaluate`` read (copies of the splits, unless given)."""
    arrays = dict(arrays)
    for split in ("x_val", "x_test"):
        if split in arrays:
            arrays.setdefault(f"{split}_shifted", arrays[split])
    for name, array in arrays.items():
        np.save(project / "data" / "05_model_input" / f"{name}.npy", array)


def mlflow_store(project: Path, run_name: str | None = None):
    """A client on the project's MLflow store and all its runs (those named ``run_name``,
    e.g. a pipeline's, if given), newest first."""
    import mlflow

    store = f"sqlite:///{project / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, order_by=["attributes.start_time DESC"])
    if run_name is not None:
        runs = [run for run in runs if run.info.run_name == run_name]
    return client, runs


def artifact_paths(client, run_id: str, path: str | None = None) -> set[str]:
    """Every file logged to a run, as paths relative to its artifact root."""
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found
