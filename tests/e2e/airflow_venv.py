"""Airflow's own virtual environment, installed as the docs say ("Running on Airflow").

``.airflow-venv`` at the project root, made from ``airflow/requirements.txt`` and
``airflow/constraints.txt`` and kept while those files (and ``pyproject.toml``, whose
dependencies it holds) are unchanged. One installer at a time: a file lock beside it.

CI makes it in the background while the pipelines run (``.ci/run``)::

    python -m tests.e2e.airflow_venv
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV = PROJECT_ROOT / ".airflow-venv"
PINS = ("airflow/requirements.txt", "airflow/constraints.txt")
#: What the environment is made from: the pins, and the project's own dependencies.
INSTALLED_FROM = (*PINS, "pyproject.toml")


def _pins_digest() -> str:
    return hashlib.sha256(
        b"".join((PROJECT_ROOT / p).read_bytes() for p in INSTALLED_FROM)
    ).hexdigest()


def _pip(*args: str) -> None:
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", *args], check=True, timeout=1800)


def ensure_airflow_venv(project: Path | str) -> None:
    """Airflow with ``project`` (the wheel ``kedro package`` built, or a project folder)
    and their pinned dependencies; the environment is reused while the pins are unchanged,
    and the project itself is reinstalled into a reused one."""
    stamp = VENV / "pins.sha256"
    with FileLock(str(VENV.with_name(VENV.name + ".lock"))):
        if not (stamp.is_file() and stamp.read_text() == _pins_digest()):
            shutil.rmtree(VENV, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            _pip("-c", str(PROJECT_ROOT / PINS[1]), "-r", str(PROJECT_ROOT / PINS[0]), str(project))
            stamp.write_text(_pins_digest())
        else:
            _pip("--no-deps", "--force-reinstall", str(project))


if __name__ == "__main__":
    ensure_airflow_venv(PROJECT_ROOT)
