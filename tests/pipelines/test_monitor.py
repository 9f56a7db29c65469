"""The monitor pipeline on small generated logs: no drift, drift, too few records."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from kedro.runner import SequentialRunner

from mnist_pipeline.monitoring.prediction_log import prediction_records
from mnist_pipeline.pipeline_registry import register_pipelines
from mnist_pipeline.pipelines.monitor.nodes import (
    MissingReferenceError,
    champion_reference,
    compare_with_reference,
    monitoring_report,
    records_in_window,
)

from ..conftest import in_memory_catalog

MONITOR = {
    "window_hours": 24.0,
    "last_records": None,
    "min_records": 50,
    "max_feature_distance": 0.1,
    "max_digit_mix_distance": 0.1,
    "max_rejection_rise": 0.05,
}
NOW = pd.Timestamp("2026-12-06 12:00", tz="UTC")


def _strokes(count: int, seed: int, width=(2, 4), turned: bool = False) -> np.ndarray:
    """Upright strokes of varied height, width and place (digit-like enough to monitor);
    ``turned`` lays them on their side."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for image in images:
        height, thickness = rng.integers(14, 21), rng.integers(*width)
        top, left = rng.integers(4, 24 - height + 5), rng.integers(11, 15)
        image[top : top + height, left : left + thickness] = rng.integers(180, 256)
    return np.swapaxes(images, 1, 2) if turned else images


def _log(images: np.ndarray, seed: int, rejected_share: float = 0.01, hours_ago=1.0):
    """Records of ``images`` answered with an even digit mix, ``rejected_share`` rejected."""
    rng = np.random.default_rng(seed)
    rejected = rng.random(len(images)) < rejected_share
    table = pd.DataFrame(
        {
            "digit": [
                None if r else d
                for r, d in zip(rejected, rng.integers(0, 10, len(images)), strict=True)
            ],
            "probability": rng.uniform(0.9, 1.0, len(images)),
            "digit_likeness": rng.normal(8, 1, len(images)),
            "rejected": rejected,
        }
    )
    when = (NOW - pd.Timedelta(hours=hours_ago)).timestamp()
    model = {"name": "mnist_classifier", "run_id": "run-3", "version": "3"}
    return prediction_records(images, table, source="server", model=model, now=when)


REFERENCE = _log(_strokes(2000, seed=0), seed=0)


def test_a_log_like_the_reference_has_no_drift():
    current = _log(_strokes(600, seed=1), seed=1)
    table, metrics, verdict = compare_with_reference(current, REFERENCE, MONITOR)
    assert verdict == {"drift": False, "records": 600, "moved": []}
    assert not table["drifted"].any()
    assert metrics["drift"]["value"] == 0.0
    assert metrics["records"]["value"] == 600


@pytest.mark.parametrize(
    ("images", "moved"),
    [
        (_strokes(600, seed=2, turned=True), {"ink_height", "ink_width"}),
        (_strokes(600, seed=2, width=(5, 8)), {"ink_mass", "ink_width", "stroke_width"}),
    ],
    ids=["turned", "thickened"],
)
def test_turned_or_thickened_strokes_drift_and_name_what_moved(images, moved):
    table, metrics, verdict = compare_with_reference(_log(images, seed=2), REFERENCE, MONITOR)
    assert verdict["drift"] is True
    assert moved <= set(verdict["moved"])
    assert "digit_mix" not in verdict["moved"] and "rejection_rate" not in verdict["moved"]
    assert verdict["moved"][0] == table["figure"][0]  # most moved first
    assert metrics["drift"]["value"] == 1.0


def test_a_new_digit_mix_and_more_rejections_drift():
    current = _log(_strokes(600, seed=3), seed=3, rejected_share=0.3)
    current.loc[~current["rejected"], "digit"] = 7
    _, _, verdict = compare_with_reference(current, REFERENCE, MONITOR)
    assert {"digit_mix", "rejection_rate"} <= set(verdict["moved"])


def test_the_window_is_the_last_hours_or_the_last_records():
    log = pd.concat(
        [_log(_strokes(60, 4), 4, hours_ago=30), _log(_strokes(70, 5), 5, hours_ago=2)],
        ignore_index=True,
    )
    assert len(records_in_window(log, MONITOR, now=NOW)) == 70
    assert len(records_in_window(log, {**MONITOR, "last_records": 100}, now=NOW)) == 100
    assert records_in_window(log, {**MONITOR, "window_hours": 1.0}, now=NOW).empty


def test_too_few_records_are_said_and_nothing_is_compared(caplog):
    caplog.set_level(logging.INFO)
    few = _log(_strokes(49, 7, turned=True), 7)  # drifted, but one record short
    table, metrics, verdict = compare_with_reference(few, REFERENCE, MONITOR)
    assert table.empty and metrics == {"records": {"value": 49.0, "step": 0}}
    assert (verdict["drift"], verdict["records"]) == (None, 49)
    assert "49 record(s) in the last 24 hours (monitor.min_records is 50)" in caplog.text
    report = monitoring_report(table, verdict, few, REFERENCE, {})
    assert "Too few records to compare" in report and "<img" not in report


class _Champion:
    name, version, model_uri = "mnist_classifier", "3", "models:/mnist_classifier/3"
    run = {"run_id": "run-3"}


def test_a_champion_without_a_reference_or_no_champion_is_named():
    with pytest.raises(MissingReferenceError, match=r"version 3.*`kedro run`"):
        champion_reference(_Champion(), {"2": REFERENCE})
    with pytest.raises(MissingReferenceError, match=r"no champion to monitor yet"):
        champion_reference(None, {"2": REFERENCE})


def test_the_monitor_pipeline_reports_on_the_champions_reference():
    monitor = register_pipelines()["monitor"]
    current = _log(_strokes(300, seed=6, turned=True), seed=6, hours_ago=0.0)
    current["time"] = pd.Timestamp.now(tz="UTC")
    catalog = in_memory_catalog(
        {
            "prediction_log": current,
            "current_champion": _Champion(),
            "monitoring_references": {"3": lambda: REFERENCE, "2": lambda: current},
            "params:monitor": MONITOR,
        },
        monitor.all_outputs(),
    )
    SequentialRunner().run(monitor, catalog)
    assert catalog.load("monitoring_tags")["monitored_model_version"] == "3"
    verdict = catalog.load("drift_verdict")
    assert verdict["drift"] is True and verdict["records"] == 300
    metrics = catalog.load("monitoring_metrics")
    assert metrics["ink_height_distance"]["value"] > MONITOR["max_feature_distance"]
    report = catalog.load("monitoring_report")
    assert "Prediction monitoring: Drift: " in report
    assert "models:/mnist_classifier/3" in report and "data:image/png;base64," in report
    assert set(catalog.load("drift_table")["figure"]) >= {"ink_height", "digit_mix"}
