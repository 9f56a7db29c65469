"""What does the search cost, what does its pruner save, and does what it finds hold?

1. The default search (``conf/base/parameters_tune.yml``), as ``kedro run --pipeline=tune``
   in a temporary copy of the project with a fresh study, twice with the same seed and
   budget: with the pruner and without (``tune.pruner=none``). Printed for each: trials
   completed / pruned / failed, the training steps they spent (each trial's last step),
   wall time, and the best validation accuracy; then the pruned search's share of the
   other's steps and the difference of their best values.
2. The best configuration of the pruned search trained in full (``train.steps``), for
   seeds 0-2, beside the defaults for the same seeds (each a fresh process running the
   training loop ``kedro run`` uses): test accuracy of each, mean and spread.

Run from the project root after ``kedro run --pipeline=preprocess`` (the model input):

    python benchmarks/tune_speed.py                      # the default budget: about an hour
    python benchmarks/tune_speed.py --trials 20 --steps 3000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
SEEDS = (0, 1, 2)


def _search_project(root: Path) -> Path:
    """A copy of the project with the model input, no study and no MLflow store."""
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    shutil.copytree(PROJECT_ROOT / "conf" / "base", root / "conf" / "base")
    (root / "conf" / "local").mkdir()
    shutil.copytree(
        PROJECT_ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    model_input = root / "data" / "05_model_input"
    model_input.mkdir(parents=True)
    for name in SPLITS:
        source = PROJECT_ROOT / "data" / "05_model_input" / f"{name}.npy"
        if not source.is_file():
            raise SystemExit(f"{source} is missing: run `kedro run --pipeline=preprocess` first")
        shutil.copy(source, model_input / source.name)
    return root


def _search(label: str, overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"tune-{label}-") as scratch:
        project = _search_project(Path(scratch))
        command = [sys.executable, "-m", "kedro", "run", "--pipeline=tune"]
        if overrides:
            command.append("--params=" + ",".join(overrides))
        start = time.perf_counter()
        result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"the {label} search failed:\n{result.stderr[-3000:]}")
        trials = pd.read_csv(project / "data" / "08_reporting" / "tuning_trials.csv")
        best = yaml.safe_load(
            (project / "data" / "07_model_output" / "best_parameters.yml").read_text()
        )
    states = trials["state"].value_counts().to_dict()
    return {
        "label": label,
        "seconds": seconds,
        "states": states,
        "steps": int(trials["last_step"].fillna(0).sum()),
        "best": float(trials["val_accuracy"][trials["state"] == "complete"].max()),
        "train": best["train"],
    }


def _train(parameters: dict) -> float:
    """Train once in a fresh process with ``parameters``; the test accuracy."""
    script = (
        "import json, sys, numpy as np\n"
        "from mnist_pipeline.parameters import train_parameters\n"
        "from mnist_pipeline.training.loop import train\n"
        f"folder = '{PROJECT_ROOT / 'data' / '05_model_input'}'\n"
        f"data = {{n: np.load(f'{{folder}}/{{n}}.npy') for n in {SPLITS}}}\n"
        "config = train_parameters(json.loads(sys.argv[1]))\n"
        "result = train(data['x_train'], data['y_train'], data['x_val'], data['y_val'], config,"
        " test_set=(data['x_test'], data['y_test']))\n"
        "print(result.test_accuracy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(parameters)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"training failed:\n{result.stderr[-3000:]}")
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, help="trials of each search (default: tune.trials)")
    parser.add_argument("--steps", type=int, help="steps of each trial (default: tune.steps)")
    args = parser.parse_args()
    budget = ["tune.timeout_minutes=null"]  # the same budget for both: the trials alone
    budget += [f"tune.trials={args.trials}"] if args.trials else []
    budget += [f"tune.steps={args.steps}"] if args.steps else []

    searches = [_search("pruned", budget), _search("unpruned", [*budget, "tune.pruner=none"])]
    print("\nthe default search, same seed and budget, one kedro run each:")
    for search in searches:
        print(
            f"  {search['label']:<9} {search['seconds']:7.1f} s  trials {search['states']}  "
            f"steps {search['steps']:,}  best val_accuracy {search['best']:.4f}"
        )
    pruned, unpruned = searches
    print(
        f"  pruned / unpruned steps: {pruned['steps'] / unpruned['steps']:.2f}; "
        f"best val_accuracy {pruned['best'] - unpruned['best']:+.4f}; "
        f"wall time {pruned['seconds'] / unpruned['seconds']:.2f}"
    )

    defaults = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_train.yml").read_text())
    configurations = {"defaults": defaults["train"], "best of the search": pruned["train"]}
    searched = {k: v for k, v in pruned["train"].items() if v != defaults["train"].get(k)}
    print(f"\nfull runs (train.steps), seeds {list(SEEDS)}; the search chose {searched}:")
    for label, parameters in configurations.items():
        accuracies = [_train({**parameters, "seed": seed}) for seed in SEEDS]
        spread = max(accuracies) - min(accuracies)
        print(
            f"  {label:<18} test accuracy {', '.join(f'{a:.4f}' for a in accuracies)}  "
            f"mean {statistics.mean(accuracies):.4f}  spread {spread:.4f}"
        )


if __name__ == "__main__":
    main()
