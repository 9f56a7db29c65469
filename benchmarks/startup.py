"""How long does each command take from a cold start, against TensorFlow's own import?

Runs, in a temporary copy of the project (its config, code and raw files; a fresh MLflow
store), each command below once per repeat, interleaved, every one a new process, and
prints the median, min and max wall time of each and their ratios to the start-up goals
(docs, "Start-up"):

    kedro --help                               the CLI alone
    python -c "import tensorflow"              the reference for the model-using runs
    python -c "import keras"
    kedro run --pipeline=ingest                goal: <= 1.5 x kedro --help
    kedro run --pipeline=evaluate              goal: <= 1.6 x import keras
    kedro run --pipeline=train
    kedro run                                  goal: <= 30 s

The copy first gets one full ``kedro run`` (not timed), so that ``evaluate`` has a model
and every run finds its inputs. Run from the project root after ``kedro run`` (the raw
files in ``data/01_raw/``):

    python benchmarks/startup.py                 # 5 repeats, about 10 minutes
    python benchmarks/startup.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RAW_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
KEDRO = [sys.executable, "-m", "kedro"]
COMMANDS = {
    "kedro --help": [*KEDRO, "--help"],
    "import tensorflow": [sys.executable, "-c", "import tensorflow"],
    "import keras": [sys.executable, "-c", "import keras"],
    "kedro run --pipeline=ingest": [*KEDRO, "run", "--pipeline=ingest"],
    "kedro run --pipeline=evaluate": [*KEDRO, "run", "--pipeline=evaluate"],
    "kedro run --pipeline=train": [*KEDRO, "run", "--pipeline=train"],
    "kedro run": [*KEDRO, "run"],
}
#: (command, what it is compared with, the largest ratio of the goal)
TARGETS = (
    ("kedro run --pipeline=ingest", "kedro --help", 1.5),
    ("kedro run --pipeline=evaluate", "import keras", 1.6),
)
FULL_RUN_TARGET_SECONDS = 30.0


def _copy_project(destination: Path) -> Path:
    for name in ("pyproject.toml", ".telemetry"):
        if (PROJECT_ROOT / name).exists():
            shutil.copy(PROJECT_ROOT / name, destination / name)
    shutil.copytree(PROJECT_ROOT / "conf" / "base", destination / "conf" / "base")
    (destination / "conf" / "local").mkdir()
    shutil.copytree(
        PROJECT_ROOT / "src", destination / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    raw = destination / "data" / "01_raw"
    raw.mkdir(parents=True)
    for name in RAW_FILES:
        source = PROJECT_ROOT / "data" / "01_raw" / name
        if not source.is_file():
            raise SystemExit(f"{source} is missing: run `kedro run` in the project first")
        shutil.copy(source, raw / name)
    return destination


def _time(command: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr.decode()[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="cold runs of each command")
    args = parser.parse_args()
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    with tempfile.TemporaryDirectory(prefix="mnist-startup-") as folder:
        project = _copy_project(Path(folder))
        print("preparing the copy: one full `kedro run` (not timed)", flush=True)
        _time(COMMANDS["kedro run"], project, env)
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for repeat in range(args.repeats):
            for name, command in COMMANDS.items():
                times[name].append(_time(command, project, env))
                print(
                    f"  run {repeat + 1}/{args.repeats} {name:<30} {times[name][-1]:6.2f} s",
                    flush=True,
                )
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"\ncold starts, {args.repeats} runs each, interleaved, one process per run")
    for name, values in times.items():
        print(
            f"{name:<30} median {medians[name]:6.2f} s  min {min(values):6.2f}"
            f"  max {max(values):6.2f}"
        )
    print()
    for name, reference, allowed in TARGETS:
        ratio = medians[name] / medians[reference]
        verdict = "meets" if ratio <= allowed else "misses"
        print(f"{name} / {reference}: {ratio:.2f} (goal <= {allowed}: {verdict})")
    full = medians["kedro run"]
    verdict = "meets" if full <= FULL_RUN_TARGET_SECONDS else "misses"
    print(f"kedro run: {full:.1f} s (goal <= {FULL_RUN_TARGET_SECONDS:.0f} s: {verdict})")
    print(
        f"kedro run --pipeline=train / import tensorflow: "
        f"{medians['kedro run --pipeline=train'] / medians['import tensorflow']:.2f}"
    )


if __name__ == "__main__":
    main()
