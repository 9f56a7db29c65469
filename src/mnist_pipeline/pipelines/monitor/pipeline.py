"""Prediction log (01_raw/prediction_log) + the champion's reference answers
(06_models/monitoring_references) -> drift report (08_reporting) and an MLflow run.

The reference of every registered version is made when it is registered (the gate's
``describe_reference`` node, :mod:`..register`), so it is computed once per champion."""

from kedro.pipeline import Pipeline, node

from .. import stage
from .nodes import champion_reference, compare_with_reference, monitoring_report, records_in_window


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``monitor`` pipeline (it reads the log and the registry; it never trains)."""
    return stage(
        "monitor",
        [
            node(
                records_in_window,
                ["prediction_log", "params:monitor"],
                "monitored_records",
                name="read_the_window",
            ),
            node(
                champion_reference,
                ["current_champion", "monitoring_references"],
                ["monitoring_reference", "monitoring_tags"],
                name="load_champion_reference",
            ),
            node(
                compare_with_reference,
                ["monitored_records", "monitoring_reference", "params:monitor"],
                ["drift_table", "monitoring_metrics", "drift_verdict"],
                name="compare_with_reference",
            ),
            node(
                monitoring_report,
                [
                    "drift_table",
                    "drift_verdict",
                    "monitored_records",
                    "monitoring_reference",
                    "monitoring_tags",
                ],
                "monitoring_report",
                name="write_monitoring_report",
                tags=["reporting"],
            ),
        ],
    )
