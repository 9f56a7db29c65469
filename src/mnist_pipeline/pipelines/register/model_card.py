"""A registered version's model card: its description in the registry, in Markdown.

What was trained (architecture, settings), on which data (the digests its training run
logged), how well (validation and test accuracy, each class's recall on validation), what
the gate decided and why, how long training took, and how to serve it. The MLflow UI shows
it on the version's page (Models, ``mnist_classifier``, the version).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def model_card(run: Mapping[str, Any], outcome: Mapping[str, Any]) -> str:
    """The card of the version in ``outcome`` (what the gate decided, and what the registry
    made of it), trained by ``run`` (its ``run_id``, ``params``, ``metrics``, ``datasets``
    and ``seconds``)."""
    name, version, seconds = outcome["registered_model"], outcome["version"], run["seconds"]
    params = {
        k.removeprefix("train."): v for k, v in run["params"].items() if k.startswith("train.")
    }
    lines = [
        f"# {name} version {version}",
        "",
        f"**{outcome['architecture']}** ({outcome['precision']}), trained in MLflow run "
        f"`{run['run_id']}`" + (f" in {seconds:.0f} s." if seconds is not None else "."),
        "",
        f"**Gate: {outcome['promotion']}** (against champion version "
        f"{outcome['against_champion']})",
        "",
        "| criterion | result |",
        "|---|---|",
        *(f"| {name} | {figures} |" for name, figures in outcome["checks"].items()),
        "",
        "## Quality",
        "",
        f"- validation accuracy (re-scored by the gate): {outcome['val_accuracy']:.4f}",
        f"- on the shifted validation slice: {outcome['val_shifted_accuracy']:.4f}",
        f"- expected calibration error on validation: {outcome['val_calibration_error']:.4f}",
    ]
    if "test_accuracy" in run["metrics"]:
        lines.append(f"- test accuracy: {run['metrics']['test_accuracy']:.4f}")
    lines += [
        "",
        "| digit | " + " | ".join(str(d) for d in range(len(outcome["class_recall"]))) + " |",
        "|---" * (len(outcome["class_recall"]) + 1) + "|",
        "| validation recall | " + " | ".join(f"{r:.4f}" for r in outcome["class_recall"]) + " |",
        "",
        "## Data",
        "",
    ]
    for dataset in run["datasets"]:
        lines.append(
            f"- {dataset['context'] or 'input'}: `{dataset['name']}`, digest `{dataset['digest']}`"
        )
    if not run["datasets"]:
        lines.append("- (the training run logged no datasets)")
    lines += [
        "",
        "## Settings",
        "",
        *(f"- `{key}`: {value}" for key, value in sorted(params.items())),
        "",
        "## Serving",
        "",
        "```bash",
        f"mlflow models serve -m models:/{name}/{version} --env-manager local "
        "--host 127.0.0.1 --port 5001",
        "```",
    ]
    return "\n".join(lines) + "\n"
