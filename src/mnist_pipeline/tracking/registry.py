"""The model registry: every trained model a version of ``mnist_classifier``; a gate decides
which one serves.

A training run logs and registers its served model (:mod:`.model`).
:class:`ModelRegistryHook` then gives the new version the alias ``challenger`` and puts it
through the gate: the candidate and the current champion are both scored now, by their
served models, on the same validation split (the test set is never used to decide), and
the candidate's served model is loaded in a fresh process and sent a smoke request. It
takes the alias ``champion`` (what serving and ``kedro run --pipeline=predict`` use) only
when :func:`decide` says so: its accuracy at least the champion's plus ``min_gain``, no
class's recall more than ``max_class_drop`` below the champion's nor under
``class_recall_floor`` (``conf/base/parameters_registry.yml``), and a served model that
answers. The decision, each criterion's figures and the reason go on the version (tags,
and its description: a model card), on the training run (MLflow's evaluation of the
candidate) and into ``data/06_models/model_registration.json``.

By hand: ``kedro champion promote VERSION --reason ...`` and ``kedro champion rollback
--reason ...`` (:func:`promote_by_hand`, :func:`roll_back`), each leaving who and why.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from kedro.framework.hooks import hook_impl

from mnist_pipeline.errors import UserFacingError
from mnist_pipeline.parameters import RegistryParameters

from .model import CHAMPION_ALIAS, REGISTERED_MODEL_NAME, registered_model_uri

logger = logging.getLogger(__name__)

#: The trained model's dataset (what ``evaluate`` judges).
MODEL_DATASET = "mnist_model"
#: Saving it logs and registers the served model: it marks the MLflow run that trained one.
SERVED_MODEL_DATASET = "served_model"
#: Where the outcome of a registration is recorded (a catalog entry).
REGISTRATION_DATASET = "model_registration"
#: The alias of the newest version until the gate has spoken.
CHALLENGER_ALIAS = "challenger"
#: Float slack of the comparisons: scores are ratios of counts, compared at their edges.
_EPSILON = 1e-12


class RegistryError(UserFacingError, RuntimeError):
    """A request to the registry that cannot be carried out (no such version, ...)."""


@dataclasses.dataclass(frozen=True)
class Scores:
    """A model's answers on the validation split: accuracy and each class's recall."""

    accuracy: float
    class_recall: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether the candidate becomes the champion, and each criterion's figures in words."""

    promote: bool
    reason: str
    checks: dict[str, str]


def scores_of(digits: np.ndarray, labels: np.ndarray, classes: int = 10) -> Scores:
    """Accuracy and per-class recall of predicted ``digits`` against ``labels``."""
    from sklearn.metrics import recall_score  # noqa: PLC0415 (only the gate needs it)

    recall = recall_score(
        labels, digits, labels=list(range(classes)), average=None, zero_division=0
    )
    return Scores(float(np.mean(digits == labels)), tuple(float(r) for r in recall))


def decide(
    candidate: Scores,
    champion: Scores | None,
    criteria: RegistryParameters,
    serving_error: str | None,
) -> Decision:
    """The gate: promote ``candidate`` over ``champion`` (``None``: there is none yet)?

    Every criterion is checked and reported; the candidate is promoted only if all pass.
    ``serving_error`` is why its served model failed the smoke request (``None``: it
    answered). Equal to a bound passes (at least the champion plus the gain; a class
    exactly at the floor, or exactly ``max_class_drop`` below the champion's).
    """
    checks, failures = {}, []

    def check(name: str, passed: bool, figures: str) -> None:
        checks[name] = ("pass: " if passed else "fail: ") + figures
        if not passed:
            failures.append(f"{name} ({figures})")

    check("serving", serving_error is None, serving_error or "answers raw images, refuses bad ones")
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
    if failures:
        return Decision(False, "stays challenger: " + "; ".join(failures), checks)
    if champion is None:
        return Decision(True, "champion: the first version that passes the gate", checks)
    return Decision(True, "champion: passes every criterion against the champion", checks)


# ---------------------------------------------------------------- the served models


def raw_images(x: np.ndarray) -> np.ndarray:
    """Model-input rows (pixels / 255) as the served model takes them: (N, 28, 28), 0..255."""
    side = int(round(np.sqrt(x.shape[1])))
    return np.rint(np.asarray(x, dtype=np.float64) * 255.0).reshape(-1, side, side)


def served_digits(model_uri: str, images: np.ndarray) -> np.ndarray:
    """The digits the served model at ``model_uri`` answers for ``images``, in this process."""
    import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

    model = mlflow.pyfunc.load_model(model_uri)
    return np.asarray(model.predict(images)["digit"], dtype=np.int64)


#: Run in a fresh interpreter (the served model with the code it was logged with): load
#: the served model, answer ``images``, refuse a pixel of 300; print what happened as JSON.
_IN_A_FRESH_PROCESS = """
import json, sys
import numpy as np
import mlflow
from mlflow.exceptions import MlflowException
model = mlflow.pyfunc.load_model(sys.argv[1])
images = np.load(sys.argv[2])
digits = [int(d) for d in model.predict(images)["digit"]]
bad = images[:1].copy()
bad[0, 0, 0] = 300.0
try:
    model.predict(bad)
    refused = None
except MlflowException as exc:
    refused = str(exc)
print(json.dumps({"digits": digits, "refused": refused}))
"""


def _in_a_fresh_process(model_uri: str, images: np.ndarray) -> dict[str, Any]:
    """What the served model answers in a fresh process: ``digits`` and ``refused`` (the
    message of a bad request), or ``failed`` (why it could not load or answer)."""
    with tempfile.TemporaryDirectory() as scratch:
        batch = Path(scratch) / "images.npy"
        np.save(batch, images)
        result = subprocess.run(
            [sys.executable, "-c", _IN_A_FRESH_PROCESS, model_uri, str(batch)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    if result.returncode != 0:
        return {"failed": (result.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def champion_digits(model_uri: str, images: np.ndarray) -> np.ndarray:
    """The champion's answers: in this process, or, when it was logged with other code
    than this process runs (an older version), in a fresh process with its own code."""
    try:
        return served_digits(model_uri, images)
    except (AttributeError, ImportError, TypeError):  # unpickling it needs its own code
        answer = _in_a_fresh_process(model_uri, images)
        if "failed" in answer:
            raise RegistryError(
                f"The champion {model_uri} cannot be loaded to be compared with "
                f"({answer['failed']}): promote a version by hand, or roll back."
            ) from None
        return np.asarray(answer["digits"], dtype=np.int64)


def smoke_test(model_uri: str, images: np.ndarray, expected: np.ndarray) -> str | None:
    """Load the served model in a fresh process and send it ``images`` and a bad request:
    ``None`` when it answers ``expected`` and refuses the bad one with a clear message,
    else what went wrong, in one line."""
    answer = _in_a_fresh_process(model_uri, images)
    if "failed" in answer:
        return f"the served model failed to load or answer in a fresh process ({answer['failed']})"
    if answer["digits"] != [int(d) for d in expected]:
        return f"the served model answered {answer['digits']}, not {list(map(int, expected))}"
    if not answer["refused"] or "0..255" not in answer["refused"]:
        return f"the served model did not refuse a pixel of 300 ({answer['refused']!r})"
    return None


# ---------------------------------------------------------------- the registry


def _version_of(client, run_id: str) -> Any:
    versions = client.search_model_versions(
        f"name = '{REGISTERED_MODEL_NAME}' and run_id = '{run_id}'"
    )
    if not versions:
        raise LookupError(f"run {run_id} registered no version of {REGISTERED_MODEL_NAME}")
    return max(versions, key=lambda v: int(v.version))


def _number(version: Any) -> str:
    """A version's number as text: MLflow's SQL store answers whole numbers, its REST
    client texts, and both take texts."""
    return str(version.version)


def _alias(client, alias: str) -> Any | None:
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        return client.get_model_version_by_alias(REGISTERED_MODEL_NAME, alias)
    except MlflowException:  # no such alias (or model) yet
        return None


def _make_champion(client, version: str, replaced: Any | None) -> None:
    """Move the alias to ``version``, noting which version it replaced (for a rollback)."""
    if replaced is not None and _number(replaced) != str(version):
        client.set_model_version_tag(
            REGISTERED_MODEL_NAME, version, "replaced_champion", _number(replaced)
        )
    client.set_registered_model_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS, version)


def _settle_champion(client, rounds: int = 5) -> None:
    """Leave the alias on the best version that passed the gate, whoever wrote it last.

    Runs that finish at once (a team's tracking server) each decide against the champion
    they saw, and a slower one may move the alias after a better one did. Every promoting
    run therefore looks again once its own write is done, and moves the alias to the
    promoted version of highest re-scored validation accuracy (the newest on a tie, as
    the gate would have chosen in turn) until the alias stays put.
    """
    for _ in range(rounds):
        promoted = [
            (float(v.tags["val_accuracy"]), int(v.version))
            for v in client.search_model_versions(f"name = '{REGISTERED_MODEL_NAME}'")
            if v.tags.get("promoted") == "true" and "val_accuracy" in v.tags
        ]
        if not promoted:
            return
        best = str(max(promoted)[1])
        current = _alias(client, CHAMPION_ALIAS)
        if current is not None and _number(current) == best:
            return
        _make_champion(client, best, current)


def _log_evaluation(run_id: str, digits: np.ndarray, labels: np.ndarray) -> None:
    """MLflow's own evaluation of the candidate's validation answers, on its training run.

    The digits go in as words: MLflow's classifier evaluator takes only categorical
    (string) labels for classes, and would otherwise warn that the data looks like none.
    """
    import mlflow  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    table = pd.DataFrame({"digit": digits.astype(str), "label": labels.astype(str)})
    with mlflow.start_run(run_id=run_id):
        mlflow.models.evaluate(
            data=table,
            predictions="digit",
            targets="label",
            model_type="classifier",
            evaluator_config={
                "metric_prefix": "gate_validation_",
                "log_model_explainability": False,
            },
        )


def gate_new_version(
    client,
    run_id: str,
    x_val: np.ndarray,
    y_val: np.ndarray,
    criteria: RegistryParameters,
) -> dict[str, Any]:
    """Put the version registered from ``run_id`` through the gate; what was decided."""
    version = _number(_version_of(client, run_id))
    client.set_registered_model_alias(REGISTERED_MODEL_NAME, CHALLENGER_ALIAS, version)
    images, labels = raw_images(x_val), np.argmax(y_val, axis=1)
    uri = registered_model_uri(version)
    serving_error = None
    try:
        digits = served_digits(uri, images)
    except Exception as exc:  # noqa: BLE001 (whatever breaks it, the candidate cannot serve)
        serving_error = f"the served model cannot answer ({type(exc).__name__}: {exc})"[:300]
        digits = np.full(len(labels), -1)
    candidate = scores_of(digits, labels)
    champion_version = _alias(client, CHAMPION_ALIAS)
    champion = None
    if champion_version is not None:
        champion_uri = registered_model_uri(_number(champion_version))
        champion = scores_of(champion_digits(champion_uri, images), labels)
    if serving_error is None:
        smoke = images[: criteria.smoke_images]
        serving_error = smoke_test(uri, smoke, digits[: criteria.smoke_images])
    decision = decide(candidate, champion, criteria, serving_error)
    run = client.get_run(run_id)  # as training left it: the evaluation below resumes it
    _log_evaluation(run_id, digits, labels)

    against = _number(champion_version) if champion_version is not None else "none"
    tags = {
        **{k: v for k, v in run.data.tags.items() if k.startswith("tuning.")},
        "architecture": run.data.params.get("train.model", "mlp"),
        "precision": run.data.params.get("train.precision", "float32"),
        "val_accuracy": f"{candidate.accuracy:.6f}",
        "promoted": str(decision.promote).lower(),
        "promotion": decision.reason,
        "gate.against_version": against,
        **{f"gate.{name}": figures for name, figures in decision.checks.items()},
    }
    for key, value in tags.items():
        client.set_model_version_tag(REGISTERED_MODEL_NAME, version, key, value)
    reason, is_champion = decision.reason, False
    if decision.promote:
        _make_champion(client, version, champion_version)
        _settle_champion(client)
        now = _alias(client, CHAMPION_ALIAS)
        is_champion = now is not None and _number(now) == version
        if not is_champion:  # a better version registered at the same time took the alias
            reason = (
                f"{reason}; then version {_number(now)} (val_accuracy "
                f"{float(now.tags['val_accuracy']):.4f}), registered at the same time, took "
                "the alias"
            )
            client.set_model_version_tag(REGISTERED_MODEL_NAME, version, "promotion", reason)
    outcome = {
        "registered_model": REGISTERED_MODEL_NAME,
        "version": int(version),
        "model_uri": registered_model_uri(version),
        "training_run_id": run_id,
        "architecture": tags["architecture"],
        "precision": tags["precision"],
        "val_accuracy": candidate.accuracy,
        "class_recall": list(candidate.class_recall),
        "against_champion": against,
        "champion_val_accuracy": None if champion is None else champion.accuracy,
        "checks": decision.checks,
        "champion": is_champion,
        "promotion": reason,
    }
    from .model_card import model_card  # noqa: PLC0415

    client.update_model_version(
        REGISTERED_MODEL_NAME, version, description=model_card(run, outcome)
    )
    return outcome


def who() -> str:
    """Who acts: the tracking server's user, else this machine's."""
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()


def promote_by_hand(client, version: str, reason: str) -> str:
    """Make ``version`` the champion, whatever the gate said; tag who and why."""
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    try:
        client.get_model_version(REGISTERED_MODEL_NAME, version)
    except MlflowException:
        raise RegistryError(
            f"There is no version {version} of {REGISTERED_MODEL_NAME} in the registry "
            f"({client.tracking_uri}): see the versions in the MLflow UI, Models."
        ) from None
    _make_champion(client, version, _alias(client, CHAMPION_ALIAS))
    client.set_model_version_tag(
        REGISTERED_MODEL_NAME, version, "promoted_by_hand", f"{who()}: {reason}"
    )
    return f"version {version} of {REGISTERED_MODEL_NAME} is the champion ({who()}: {reason})"


def roll_back(client, reason: str) -> str:
    """Give the alias back to the version the current champion replaced; tag who and why."""
    current = _alias(client, CHAMPION_ALIAS)
    if current is None or "replaced_champion" not in current.tags:
        raise RegistryError(
            f"{REGISTERED_MODEL_NAME} has no champion that replaced another: nothing to roll "
            "back to (promote a version by hand instead)."
        )
    previous = current.tags["replaced_champion"]
    client.set_registered_model_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS, previous)
    note = f"{who()}: {reason}"
    client.set_model_version_tag(REGISTERED_MODEL_NAME, _number(current), "rolled_back", note)
    client.set_model_version_tag(REGISTERED_MODEL_NAME, previous, "restored_champion", note)
    return (
        f"version {previous} of {REGISTERED_MODEL_NAME} is the champion again, replacing "
        f"{_number(current)} ({note})"
    )


class ModelRegistryHook:
    """After a training run's model is registered, put it through the gate."""

    def __init__(self) -> None:
        """Start with no training run seen."""
        self._training_run_id: str | None = None

    @hook_impl
    def before_pipeline_run(self) -> None:
        """Forget the previous run's training run (one hook serves a whole session)."""
        self._training_run_id = None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        """Note the MLflow run that registered a served model."""
        if dataset_name == SERVED_MODEL_DATASET:
            import mlflow  # noqa: PLC0415 (already imported by kedro-mlflow)

            run = mlflow.active_run()
            self._training_run_id = run.info.run_id if run else None

    @hook_impl(trylast=True)
    def after_pipeline_run(self, pipeline, catalog) -> None:
        """After a run that registered a served model, once kedro-mlflow has closed its run."""
        if self._training_run_id is None:
            return
        import mlflow  # noqa: PLC0415

        criteria = RegistryParameters.check(catalog.load("parameters")["registry"])
        outcome = gate_new_version(
            mlflow.MlflowClient(),
            self._training_run_id,
            catalog.load("x_val"),
            catalog.load("y_val"),
            criteria,
        )
        catalog.save(REGISTRATION_DATASET, outcome)
        logger.info(
            "Registered %s version %d (%s): %s",
            outcome["registered_model"],
            outcome["version"],
            outcome["model_uri"],
            outcome["promotion"],
        )
