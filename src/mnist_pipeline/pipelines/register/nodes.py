"""The gate between a newly registered version (the challenger) and the champion.

Both are scored now, on the validation split and its shifted slice (never the test
split), by their served models: the challenger as its own fresh process serves it (the
``served_model`` dataset loads it that way, so the gate's figures are what a server will
answer), the champion as the registry gives it. The challenger must also answer a smoke
request as it answered the scoring and refuse a bad one. :func:`decide` applies
``parameters_registry.yml``: at least the champion's accuracy plus ``min_gain``, no
digit's recall more than ``max_class_drop`` below the champion's nor under
``class_recall_floor``, an accuracy on the shifted slice no more than
``max_shifted_drop`` below the champion's, a calibration error no more than
``max_calibration_rise`` above it, and a served model that answers. What was decided,
with each criterion's figures, becomes the version's tags and model card
(:func:`describe_version`); the ``registry_update`` dataset applies it to the registry.

The registered models arrive as the datasets load them: a version's ``version``,
``model_uri``, ``run`` (its training run's params, metrics, tags, datasets, seconds) and
``model``, whose ``predict`` is the served model's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mnist_pipeline.monitoring.prediction_log import prediction_records
from mnist_pipeline.parameters import RegistryParameters
from mnist_pipeline.pipelines.inference.nodes import ask_served_model

logger = logging.getLogger(__name__)

#: Float slack of the comparisons: scores are ratios of counts, compared at their edges.
_EPSILON = 1e-12
#: A pixel no image may hold: the served model must refuse it with this in its message.
_BAD_PIXEL, _REFUSAL = 300.0, "0..255"


@dataclasses.dataclass(frozen=True)
class Scores:
    """A model's answers on the validation split: accuracy, each class's recall, the
    accuracy on the shifted slice, and the expected calibration error of its (served,
    calibrated) probabilities."""

    accuracy: float
    class_recall: tuple[float, ...]
    shifted_accuracy: float = float("nan")
    calibration_error: float = float("nan")


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether the candidate becomes the champion, and each criterion's figures in words."""

    promote: bool
    reason: str
    checks: dict[str, str]


def version_tags(training_run_id: str, model_uri: str, version: int | str) -> dict[str, str]:
    """The tags that tie a run (an evaluation, a prediction) to the registered version it used."""
    return {
        "training_run_id": training_run_id,
        "registered_model_version": str(version),
        "model_uri": model_uri,
    }


def raw_images(x: np.ndarray) -> np.ndarray:
    """Model-input rows (pixels / 255) as the served model takes them: (N, 28, 28), 0..255."""
    side = int(round(np.sqrt(x.shape[1])))
    return np.rint(np.asarray(x, dtype=np.float64) * 255.0).reshape(-1, side, side)


def scores_of(
    probabilities: np.ndarray,
    labels: np.ndarray,
    shifted_probabilities: np.ndarray | None = None,
    classes: int = 10,
) -> Scores:
    """The :class:`Scores` of a model's ``probabilities`` on ``labels`` (and on the
    shifted slice, whose labels are the same). The digit is the most probable one, also
    where the served model turned the image away as "not a digit": the gate judges the
    classifier, the rejection rate is fixed by ``serving.reject_rate``."""
    from sklearn.metrics import recall_score  # noqa: PLC0415 (only the gate needs it)

    from ..inference.confidence import expected_calibration_error  # noqa: PLC0415

    digits = probabilities.argmax(axis=1)
    recall = recall_score(
        labels, digits, labels=list(range(classes)), average=None, zero_division=0
    )
    shifted = (
        float("nan")
        if shifted_probabilities is None
        else float(np.mean(shifted_probabilities.argmax(axis=1) == labels))
    )
    return Scores(
        accuracy=float(np.mean(digits == labels)),
        class_recall=tuple(float(r) for r in recall),
        shifted_accuracy=shifted,
        calibration_error=expected_calibration_error(probabilities, labels),
    )


def _probabilities(model: Any, images: np.ndarray) -> np.ndarray:
    """The served model's ten probabilities (``p0``..``p9``) for raw ``images``."""
    answers = ask_served_model(model, images)  # the gate's own question: not logged
    return answers[[f"p{digit}" for digit in range(10)]].to_numpy(np.float64)


def score_challenger(
    challenger: Any, x_val: np.ndarray, y_val: np.ndarray, x_val_shifted: np.ndarray
) -> dict[str, Any]:
    """The challenger's digits and scores on the validation split (and its shifted
    slice), and why its served model cannot answer (``""`` when it can: a model that
    cannot answers digit -1 everywhere)."""
    labels = np.argmax(y_val, axis=1)
    try:
        probabilities = _probabilities(challenger.model, raw_images(x_val))
        shifted = _probabilities(challenger.model, raw_images(x_val_shifted))
        digits, error = probabilities.argmax(axis=1), ""
        scores = scores_of(probabilities, labels, shifted)
    except Exception as exc:  # noqa: BLE001 (whatever breaks it, the candidate cannot serve)
        digits = np.full(len(labels), -1)
        error = f"the served model cannot answer ({type(exc).__name__}: {exc})"[:300]
        scores = Scores(0.0, (0.0,) * 10, 0.0, 1.0)
    return {"digits": digits, "labels": labels, "scores": scores, "error": error}


def score_champion(
    champion: Any | None, x_val: np.ndarray, y_val: np.ndarray, x_val_shifted: np.ndarray
) -> dict[str, Any]:
    """The champion's ``version`` and ``scores`` on the validation split and its shifted
    slice (both ``None`` when there is no champion yet)."""
    if champion is None:
        return {"version": None, "scores": None}
    probabilities = _probabilities(champion.model, raw_images(x_val))
    shifted = _probabilities(champion.model, raw_images(x_val_shifted))
    return {
        "version": str(champion.version),
        "scores": scores_of(probabilities, np.argmax(y_val, axis=1), shifted),
    }


def reference_records(challenger: Any, x_val: np.ndarray) -> dict[str, pd.DataFrame]:
    """The newly registered version's answers on the validation split, as prediction-log
    records (source ``reference``), keyed by its version: what ``monitor`` compares the
    log with once the version is champion. A version whose served model cannot answer
    gets none (the gate keeps it from being champion: ``score_challenger``)."""
    images = raw_images(x_val)
    try:
        table = pd.DataFrame(ask_served_model(challenger.model, images.astype(np.float64)))
    except Exception:  # noqa: BLE001 (whatever breaks it, the gate reports it)
        return {}
    model = {"name": challenger.name, "run_id": challenger.run["run_id"]}
    records = prediction_records(
        images, table, source="reference", model={**model, "version": challenger.version}
    )
    return {str(challenger.version): records}


def smoke_test(
    challenger: Any,
    x_val: np.ndarray,
    answers: Mapping[str, Any],
    registry: Mapping[str, Any],
) -> str:
    """Send the challenger's served model ``registry.smoke_images`` raw validation images
    and a bad request: ``""`` when it answers them as its scoring did and refuses the bad
    one, saying why; else what went wrong, in one line."""
    if answers["error"]:
        return answers["error"]
    count = RegistryParameters.check(registry).smoke_images
    images, expected = raw_images(x_val[:count]), answers["digits"][:count]
    try:
        digits = _probabilities(challenger.model, images).argmax(axis=1)
    except Exception as exc:  # noqa: BLE001
        return f"the served model failed a smoke request ({type(exc).__name__}: {exc})"[:300]
    if digits.tolist() != expected.tolist():
        return f"the served model answered {digits.tolist()}, not {expected.tolist()}"
    bad = images[:1].copy()
    bad[0, 0, 0] = _BAD_PIXEL
    try:
        challenger.model.predict(bad)
        refusal = None
    except Exception as exc:  # noqa: BLE001 (its refusal is an MlflowException, HTTP 400)
        refusal = str(getattr(exc, "message", exc))
    if not refusal or _REFUSAL not in refusal:
        return f"the served model did not refuse a pixel of {_BAD_PIXEL:g} ({refusal!r})"
    return ""


def decide(
    candidate: Scores,
    champion: Scores | None,
    criteria: RegistryParameters,
    serving_error: str | None,
) -> Decision:
    """The gate: promote ``candidate`` over ``champion`` (``None``: there is none yet)?

    Every criterion is checked and reported; the candidate is promoted only if all pass.
    ``serving_error`` is why its served model failed the smoke request (``None`` or
    ``""``: it answered). Equal to a bound passes (at least the champion plus the gain; a
    class exactly at the floor, or exactly ``max_class_drop`` below the champion's; the
    same for the shifted accuracy and the calibration error).
    """
    checks, failures = {}, []

    def check(name: str, passed: bool, figures: str) -> None:
        checks[name] = ("pass: " if passed else "fail: ") + figures
        if not passed:
            failures.append(f"{name} ({figures})")

    check("serving", not serving_error, serving_error or "answers raw images, refuses bad ones")
    worst = int(np.argmin(candidate.class_recall))
    check(
        "class_recall_floor",
        candidate.class_recall[worst] + _EPSILON >= criteria.class_recall_floor,
        f"lowest recall {candidate.class_recall[worst]:.4f} (digit {worst}), floor "
        f"{criteria.class_recall_floor:.4f}",
    )
    if champion is not None:
        needed = champion.accuracy + criteria.min_gain
        check(
            "accuracy_gain",
            candidate.accuracy + _EPSILON >= needed,
            f"val accuracy {candidate.accuracy:.4f}, champion {champion.accuracy:.4f} + "
            f"min_gain {criteria.min_gain:.4f} = {needed:.4f}",
        )
        drops = np.subtract(champion.class_recall, candidate.class_recall)
        most = int(np.argmax(drops))
        check(
            "class_recall_drop",
            drops[most] <= criteria.max_class_drop + _EPSILON,
            f"largest drop {drops[most]:+.4f} (digit {most}), allowed "
            f"{criteria.max_class_drop:.4f}",
        )
        floor = champion.shifted_accuracy - criteria.max_shifted_drop
        check(
            "shifted_accuracy_drop",
            not candidate.shifted_accuracy + _EPSILON < floor,
            f"shifted val accuracy {candidate.shifted_accuracy:.4f}, champion "
            f"{champion.shifted_accuracy:.4f} - max_shifted_drop "
            f"{criteria.max_shifted_drop:.4f} = {floor:.4f}",
        )
        ceiling = champion.calibration_error + criteria.max_calibration_rise
        check(
            "calibration_error_rise",
            not candidate.calibration_error > ceiling + _EPSILON,
            f"val calibration error {candidate.calibration_error:.4f}, champion "
            f"{champion.calibration_error:.4f} + max_calibration_rise "
            f"{criteria.max_calibration_rise:.4f} = {ceiling:.4f}",
        )
    if failures:
        return Decision(False, "stays challenger: " + "; ".join(failures), checks)
    if champion is None:
        return Decision(True, "champion: the first version that passes the gate", checks)
    return Decision(True, "champion: passes every criterion against the champion", checks)


def decide_champion(
    answers: Mapping[str, Any],
    champion: Mapping[str, Any],
    serving_error: str,
    registry: Mapping[str, Any],
) -> Decision:
    """:func:`decide` on the challenger's and the champion's scores, with the gate's settings."""
    criteria = RegistryParameters.check(registry)
    return decide(answers["scores"], champion["scores"], criteria, serving_error)


def evaluation_table(answers: Mapping[str, Any]) -> Any:
    """The challenger's validation digits beside the labels, as words: what MLflow's own
    classifier evaluation takes (it reads numbers as a regression's)."""
    import pandas as pd  # noqa: PLC0415

    return pd.DataFrame(
        {"digit": answers["digits"].astype(str), "label": answers["labels"].astype(str)}
    )


def describe_version(
    challenger: Any,
    answers: Mapping[str, Any],
    champion: Mapping[str, Any],
    decision: Decision,
) -> dict[str, Any]:
    """What the registry is told about the challenger: its tags (the decision, each
    criterion's figures, what it was trained as and on), whether to promote it, and the
    outcome its model card and ``model_registration.json`` show."""
    run, scores, champion_scores = challenger.run, answers["scores"], champion["scores"]
    against = champion["version"] or "none"
    tags = {
        **{k: v for k, v in run["tags"].items() if k.startswith("tuning.")},
        "architecture": run["params"].get("train.model", "mlp"),
        "precision": run["params"].get("train.precision", "float32"),
        "val_accuracy": f"{scores.accuracy:.6f}",
        "val_shifted_accuracy": f"{scores.shifted_accuracy:.6f}",
        "val_calibration_error": f"{scores.calibration_error:.6f}",
        "promoted": str(decision.promote).lower(),
        "promotion": decision.reason,
        "gate.against_version": against,
        **{f"gate.{name}": figures for name, figures in decision.checks.items()},
    }
    outcome = {
        "registered_model": challenger.name,
        "version": int(challenger.version),
        "model_uri": challenger.model_uri,
        "training_run_id": run["run_id"],
        "architecture": tags["architecture"],
        "precision": tags["precision"],
        "val_accuracy": scores.accuracy,
        "class_recall": list(scores.class_recall),
        "val_shifted_accuracy": scores.shifted_accuracy,
        "val_calibration_error": scores.calibration_error,
        "against_champion": against,
        "champion_val_accuracy": None if champion_scores is None else champion_scores.accuracy,
        "checks": decision.checks,
        "promotion": decision.reason,
    }
    return {"tags": tags, "promote": decision.promote, "outcome": outcome, "run": run}


def registration_record(applied: Mapping[str, Any]) -> dict[str, Any]:
    """``model_registration.json``: the outcome as the registry holds it now (whether the
    version is the champion, after runs that finished at the same time settled the alias),
    told in one log line."""
    logger.info(
        "Registered %s version %d (%s): %s",
        applied["registered_model"],
        applied["version"],
        applied["model_uri"],
        applied["promotion"],
    )
    return dict(applied)
