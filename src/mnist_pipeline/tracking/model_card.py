"""A registered version's model card: its description in the registry, in Markdown.

What was trained (architecture, settings), on which data (the digests its training run
logged), how well (validation and test accuracy, each class's recall on validation), what
the gate decided and why, how long training took, and how to serve it. The MLflow UI shows
it on the version's page (Models, ``mnist_classifier``, the version).
"""

from __future__ import annotations

from typing import Any

from .model import REGISTERED_MODEL_NAME


def model_card(run: Any, outcome: dict[str, Any]) -> str:
    """The card of the version in ``outcome`` (what the gate decided), trained by ``run``."""
    version = outcome["version"]
    params = {
        k.removeprefix("train."): v for k, v in run.data.params.items() if k.startswith("train.")
    }
    seconds = (run.info.end_time - run.info.start_time) / 1000 if run.info.end_time else None
    lines = [
        f"# {REGISTERED_MODEL_NAME} version {version}",
        "",
        f"**{outcome['architecture']}** ({outcome['precision']}), trained in MLflow run "
        f"`{run.info.run_id}`" + (f" in {seconds:.0f} s." if seconds is not None else "."),
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
    ]
    if "test_accuracy" in run.data.metrics:
        lines.append(f"- test accuracy: {run.data.metrics['test_accuracy']:.4f}")
    lines += [
        "",
        "| digit | " + " | ".join(str(d) for d in range(len(outcome["class_recall"]))) + " |",
        "|---" * (len(outcome["class_recall"]) + 1) + "|",
        "| validation recall | " + " | ".join(f"{r:.4f}" for r in outcome["class_recall"]) + " |",
        "",
        "## Data",
        "",
    ]
    inputs = getattr(run.inputs, "dataset_inputs", None) or []
    for item in inputs:
        context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), "")
        lines.append(
            f"- {context or 'input'}: `{item.dataset.name}`, digest `{item.dataset.digest}`"
        )
    if not inputs:
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
        f"mlflow models serve -m models:/{REGISTERED_MODEL_NAME}/{version} --env-manager local "
        "--host 127.0.0.1 --port 5001",
        "```",
    ]
    return "\n".join(lines) + "\n"
