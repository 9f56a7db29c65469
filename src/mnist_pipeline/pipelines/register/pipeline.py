"""The newly registered version (``served_model``) and the champion + validation split ->
the gate's decision, applied to the registry (``registry_update``) and recorded
(06_models/model_registration.json).

Every pipeline that trains ends with these nodes (``train``, ``__default__``,
``train_best``: under the ``train`` stage, so that Airflow's ``train`` task registers and
gates its own model); ``kedro run --pipeline=register`` puts the newest registered version
through the gate again, e.g. after ``parameters_registry.yml`` changed.
"""

from kedro.pipeline import Node, Pipeline, node

from .. import stage
from .nodes import (
    decide_champion,
    describe_version,
    evaluation_table,
    reference_records,
    registration_record,
    score_challenger,
    score_champion,
    smoke_test,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``register`` pipeline."""
    return stage("register", gate_nodes())


def gate_nodes() -> list[Node]:
    """The gate's nodes (tagged ``register``), for the pipelines that train too."""
    nodes = [
        node(
            func=score_challenger,
            inputs={
                "challenger": "served_model",
                "x_val": "x_val",
                "y_val": "y_val",
                "x_val_shifted": "x_val_shifted",
            },
            outputs="challenger_answers",
            name="score_challenger",
        ),
        node(
            func=score_champion,
            inputs={
                "champion": "current_champion",
                "x_val": "x_val",
                "y_val": "y_val",
                "x_val_shifted": "x_val_shifted",
            },
            outputs="champion_scores",
            name="score_champion",
        ),
        node(
            func=smoke_test,
            inputs={
                "challenger": "served_model",
                "x_val": "x_val",
                "answers": "challenger_answers",
                "registry": "params:registry",
            },
            outputs="serving_check",
            name="smoke_test_challenger",
        ),
        node(
            func=decide_champion,
            inputs={
                "answers": "challenger_answers",
                "champion": "champion_scores",
                "serving_error": "serving_check",
                "registry": "params:registry",
            },
            outputs="gate_decision",
            name="decide_champion",
        ),
        node(
            func=evaluation_table,
            inputs="challenger_answers",
            outputs="gate_evaluation",
            name="evaluate_challenger_with_mlflow",
        ),
        node(
            func=describe_version,
            inputs={
                "challenger": "served_model",
                "answers": "challenger_answers",
                "champion": "champion_scores",
                "decision": "gate_decision",
            },
            outputs="registry_update",
            name="describe_challenger",
        ),
        node(
            func=reference_records,
            inputs={"challenger": "served_model", "x_val": "x_val"},
            outputs="monitoring_references",
            name="describe_reference",
        ),
        node(
            func=registration_record,
            inputs="registry_update",
            outputs="model_registration",
            name="record_registration",
        ),
    ]
    return [n.tag("register") for n in nodes]
