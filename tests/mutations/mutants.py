"""Mutation check: one-line faults in the seed's math and data handling must fail tests.

Each :class:`Mutation` changes one line of a temporary copy of the package (or of its
``conf/``: a default as ``conf/base`` sets it) and runs the tests named for it against that
copy (it comes first on ``PYTHONPATH``; tests that read the configuration find it beside
the package, two folders up). A mutation is *killed* when those tests fail; one that
survives means the suite cannot see that fault, and its test here fails.

The rows are test parameters in three files of this folder (the training math; the
default run, its data order and splits; data, serving, registry and monitoring), so that
pytest-xdist spreads them over its workers. The tests named here run in this process's
interpreter. Tests that start ``kedro run`` in a temporary project copy ``src/`` from the
repository, so they would run the unmutated code: they are not named. What only a
``kedro run`` used to show (the default run's settings, evaluation points, data order,
tested split) is shown in process by ``tests/training/test_default_run.py``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "src" / "mnist_pipeline"
MLP_TESTS = "tests/training/test_mlp.py"
REFERENCE_TESTS = "tests/training/test_reference_step.py"
LENET5_TESTS = "tests/training/test_lenet5.py"
LOOP_TESTS = "tests/training/test_loop_against_the_seed.py"
DEFAULT_RUN = "tests/training/test_default_run.py"
REGISTER_TESTS = "tests/pipelines/test_register.py"
AUGMENTATION_TESTS = "tests/training/test_augmentation.py"
CONFIDENCE_TESTS = ("tests/pipelines/test_robustness.py", "tests/pipelines/test_inference.py")
MONITOR_TESTS = "tests/pipelines/test_monitor.py"


@dataclasses.dataclass(frozen=True)
class Mutation:
    """Replace ``original`` (exactly one occurrence) by ``mutant`` in ``module``: a path in
    the package, or in the project when it starts with ``conf/``."""

    fault: str
    module: str
    original: str
    mutant: str
    tests: tuple[str, ...]


def run_mutant(mutation: Mutation, workdir: Path) -> subprocess.CompletedProcess:
    package = workdir / "src" / "mnist_pipeline"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / "conf" / "base", workdir / "conf" / "base")
    target = (
        workdir / mutation.module
        if mutation.module.startswith("conf/")
        else package / mutation.module
    )
    source = target.read_text()
    assert source.count(mutation.original) == 1, f"{mutation.module}: the original line moved"
    target.write_text(source.replace(mutation.original, mutation.mutant))
    env = {**os.environ, "PYTHONPATH": str(workdir / "src"), "KEDRO_DISABLE_TELEMETRY": "1"}
    probe = "import mnist_pipeline, sys; print(mnist_pipeline.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(workdir)), f"the mutant is not the package under test: {where}"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider"]
        + list(mutation.tests),
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def assert_killed(mutation: Mutation, workdir: Path) -> None:
    """Fails, with the tests' output, unless the tests named for ``mutation`` fail on it."""
    result = run_mutant(mutation, workdir)
    # pytest exits 1 when tests fail; any other code (errors, nothing collected) would not
    # show that the tests can see the fault.
    if result.returncode != 1:
        pytest.fail(
            f"SURVIVED: {mutation.fault} (exit {result.returncode}): the tests "
            f"{', '.join(mutation.tests)} pass with this fault in {mutation.module}.\n"
            f"{result.stdout[-1500:]}{result.stderr[-1500:]}",
            pytrace=False,
        )
