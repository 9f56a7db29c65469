"""The prediction log's recent records against the champion's answers on the validation
split: drift per image feature, of the confidence, of the predicted-digit mix and of the
rejection rate, each against a threshold of ``parameters_monitoring.yml``.

The statistics are SciPy's, chosen as Evidently's data-drift preset chooses them for
samples of over a thousand rows: for a number, the Wasserstein distance in the
reference's standard deviations; for the digit mix, the Jensen-Shannon distance. A
p-value is the wrong test at this size: with 5,000 reference rows, a Kolmogorov-Smirnov
test calls a difference nobody would act on significant. (Evidently itself does not
import beside pandas 3, which this project runs on.)
"""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from mnist_pipeline.errors import UserFacingError
from mnist_pipeline.monitoring.features import FEATURES

logger = logging.getLogger(__name__)

#: The numbers compared by distribution: the image features and the model's confidence.
COMPARED = [*FEATURES, "probability"]
#: The drift table's columns.
TABLE_COLUMNS = ("figure", "reference", "current", "distance", "threshold", "drifted")


class MissingReferenceError(UserFacingError, LookupError):
    """The champion has no reference answers."""


def champion_reference(
    champion: Any, references: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The champion's reference records, and the monitor run's tags naming it.

    Raises:
        MissingReferenceError: when the champion was registered without them.
    """
    if champion is None:
        raise MissingReferenceError(
            "There is no champion to monitor yet: run `kedro run`, which trains a model and "
            "makes it champion when it passes the gate."
        )
    version = str(champion.version)
    if version not in references:
        raise MissingReferenceError(
            f"The champion (version {version}) has no reference answers in "
            "data/06_models/monitoring_references/: it was registered before monitoring "
            "existed. Train a new champion with `kedro run`."
        )
    load = references[version]
    reference = load() if callable(load) else load
    tags = {
        "monitored_model_version": version,
        "monitored_model_uri": champion.model_uri,
        "training_run_id": champion.run["run_id"],
    }
    return reference, tags


def records_in_window(
    log: pd.DataFrame, monitor: Mapping[str, Any], now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The log's records of the window: the newest ``monitor.last_records`` when set, else
    those of the last ``monitor.window_hours`` hours before ``now`` (the clock's time
    unless given)."""
    log = log.sort_values("time", kind="stable")
    if monitor.get("last_records"):
        window = log.tail(int(monitor["last_records"]))
    else:
        now = pd.Timestamp.now(tz="UTC") if now is None else now
        start = now - pd.Timedelta(hours=float(monitor["window_hours"]))
        window = log[pd.to_datetime(log["time"], utc=True) >= start]
    return window.reset_index(drop=True)


def _window(monitor: Mapping[str, Any]) -> str:
    if monitor.get("last_records"):
        return f"the newest {monitor['last_records']} records"
    return f"the last {monitor['window_hours']:g} hours"


def too_few_records(count: int, monitor: Mapping[str, Any]) -> str:
    """What the monitor says, and all it does, when the window holds fewer than
    ``monitor.min_records`` records ("" when it holds enough)."""
    if count >= monitor["min_records"]:
        return ""
    return (
        f"The prediction log holds {count} record(s) in {_window(monitor)} "
        f"(monitor.min_records is {monitor['min_records']}): too few to compare, so nothing "
        "was compared. Send the served model more images, or widen the window "
        "(monitor.window_hours, monitor.last_records in parameters_monitoring.yml)."
    )


def _normed_wasserstein(current: np.ndarray, reference: np.ndarray) -> float:
    spread = float(np.std(reference))
    distance = wasserstein_distance(current, reference)
    return float(distance / spread) if spread > 0 else float(distance > 0) * np.inf


def _digit_mix(records: pd.DataFrame) -> np.ndarray:
    digits = pd.to_numeric(records["digit"], errors="coerce").dropna().astype(int)
    counts = np.bincount(digits, minlength=10)[:10].astype(np.float64)
    return counts / counts.sum() if counts.sum() else np.full(10, 0.1)


def compare_with_reference(
    current: pd.DataFrame, reference: pd.DataFrame, monitor: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, dict[str, float]], dict[str, Any]]:
    """Each figure of the window against the reference: a table (one row per figure:
    the two means or rates, the distance, its threshold, whether it drifted), its
    metrics (``monitor.<figure>_distance``, ``monitor.drift``, ... in MLflow) and the
    verdict (``drift``, ``records``, the figures that ``moved``, most first).

    With too few records (:func:`too_few_records`) it says so and compares nothing: an
    empty table, the count as the only metric, and a verdict of ``drift`` ``None``."""
    reason = too_few_records(len(current), monitor)
    if reason:
        logger.info("%s", reason)  # an expected outcome on a quiet day, not a fault
        empty = pd.DataFrame(columns=list(TABLE_COLUMNS))
        verdict = {"drift": None, "records": len(current), "moved": [], "reason": reason}
        return empty, {"records": _metric(len(current))}, verdict
    rows = []
    for name in COMPARED:
        ours = current[name].to_numpy(np.float64)
        theirs = reference[name].to_numpy(np.float64)
        rows.append(
            (
                name,
                theirs.mean(),
                ours.mean(),
                _normed_wasserstein(ours, theirs),
                monitor["max_feature_distance"],
            )
        )
    rows.append(
        (
            "digit_mix",
            np.nan,
            np.nan,
            float(jensenshannon(_digit_mix(current), _digit_mix(reference))),
            monitor["max_digit_mix_distance"],
        )
    )
    rejected_now = float(current["rejected"].astype(bool).mean())
    rejected_then = float(reference["rejected"].astype(bool).mean())
    rows.append(
        (
            "rejection_rate",
            rejected_then,
            rejected_now,
            rejected_now - rejected_then,
            monitor["max_rejection_rise"],
        )
    )
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS[:-1]))
    table["drifted"] = table["distance"] > table["threshold"]
    table["moved"] = table["distance"] / table["threshold"]
    table = table.sort_values("moved", ascending=False, kind="stable").reset_index(drop=True)
    moved = table.loc[table["drifted"], "figure"].tolist()
    metrics = {f"{row.figure}_distance": row.distance for row in table.itertuples()}
    metrics.update(
        {
            "records": len(current),
            "drift": float(bool(moved)),
            "drifted_figures": len(moved),
            "rejection_rate": rejected_now,
            "mean_probability": float(current["probability"].mean()),
        }
    )
    verdict = {"drift": bool(moved), "records": len(current), "moved": moved}
    top = table.iloc[0]
    if moved:
        logger.info(
            "Drift found in %d records: %s moved most (%.3f, threshold %g); drifted: %s",
            len(current),
            top.figure,
            top.distance,
            top.threshold,
            ", ".join(moved),
        )
    else:
        logger.info(
            "No drift in %d records: the largest move is %s (%.3f, threshold %g)",
            len(current),
            top.figure,
            top.distance,
            top.threshold,
        )
    return table.drop(columns="moved"), {k: _metric(v) for k, v in metrics.items()}, verdict


def _metric(value: float) -> dict[str, float]:
    return {"value": float(value), "step": 0}


def monitoring_report(
    table: pd.DataFrame,
    verdict: Mapping[str, Any],
    current: pd.DataFrame,
    reference: pd.DataFrame,
    tags: Mapping[str, str],
) -> str:
    """The report as one HTML page (no file beside it): the verdict, the table of
    figures, and each number's two distributions and the two digit mixes (with too few
    records, only why nothing was compared)."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    if verdict["drift"] is None:
        return _page("Too few records to compare", f"<p>{html.escape(verdict['reason'])}</p>")

    figure = Figure(figsize=(14, 8), layout="constrained")
    axes = figure.subplots(2, 5).ravel()
    for ax, name in zip(axes, COMPARED, strict=False):
        ours = current[name].to_numpy(np.float64)
        theirs = reference[name].to_numpy(np.float64)
        bins = np.histogram_bin_edges(np.concatenate([ours, theirs]), bins=30)
        ax.hist(theirs, bins=bins, density=True, alpha=0.5, label="reference")
        ax.hist(ours, bins=bins, density=True, alpha=0.5, label="log")
        drifted = bool(table.loc[table["figure"] == name, "drifted"].item())
        ax.set_title(f"{name}{' (drifted)' if drifted else ''}", fontsize=9)
    ax = axes[len(COMPARED)]
    ax.bar(np.arange(10) - 0.2, _digit_mix(reference), 0.4, label="reference")
    ax.bar(np.arange(10) + 0.2, _digit_mix(current), 0.4, label="log")
    ax.set_xticks(range(10))
    ax.set_title("predicted digit mix", fontsize=9)
    ax.legend(fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    picture = base64.b64encode(buffer.getvalue()).decode("ascii")
    if verdict["drift"]:
        headline = f"Drift: {', '.join(verdict['moved'])} moved past their thresholds."
    else:
        headline = "No drift: every figure is within its threshold."
    period = ""
    if len(current):
        times = pd.to_datetime(current["time"], utc=True)
        period = f" from {times.min():%Y-%m-%d %H:%M} to {times.max():%Y-%m-%d %H:%M} UTC"
    sources = ", ".join(f"{k}: {v}" for k, v in current["source"].value_counts().items())
    count = verdict["records"]
    body = f"""<p>{count} records of the prediction log{period} ({html.escape(sources)}),
against the answers of {html.escape(tags["monitored_model_uri"])} on the 5,000 validation
digits. Distances: Wasserstein in the reference's standard deviations for numbers,
Jensen-Shannon for the digit mix, the rise for the rejection rate.</p>
{table.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="")}
<img alt="distributions" src="data:image/png;base64,{picture}">"""
    return _page(headline, body)


def _page(headline: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Prediction monitoring</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head><body>
<h1>Prediction monitoring: {html.escape(headline)}</h1>
{body}
</body></html>
"""
