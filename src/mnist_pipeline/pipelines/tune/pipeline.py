"""Model input (05_model_input) + the study (06_models) -> trials, best parameters, plots.

The study lives in the catalog's ``tuning_storage``; every trial is an MLflow run nested in
this run, which carries the study's summary. The best parameters are written as a YAML
file a user can pass back (``data/07_model_output/best_parameters.yml``), and the
``train_best`` pipeline trains them in full.
"""

from kedro.pipeline import Node, Pipeline, node

from .. import stage
from ..register import gate_nodes
from ..train.pipeline import training_nodes
from .nodes import best_parameters, best_training_parameters, open_study, plot_search, search


def _open_study() -> Node:
    """The node opening the study, first in both pipelines: an unreachable storage stops the
    run before any data is read."""
    return node(
        func=open_study,
        inputs={"storage": "tuning_storage", "tune": "params:tune"},
        outputs="tuning_study",
        name="open_study",
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``tune`` pipeline."""
    return stage(
        "tune",
        [
            _open_study(),
            node(
                func=search,
                inputs={
                    "study": "tuning_study",
                    "x_train": "x_train",
                    "y_train": "y_train",
                    "x_val": "x_val",
                    "y_val": "y_val",
                    "trial_runs": "tuning_trial_runs",
                    "tune": "params:tune",
                    "train": "params:train",
                },
                outputs=["tuning_trials", "searched_study"],
                name="search",
            ),
            node(
                func=best_parameters,
                inputs="searched_study",
                outputs=["best_parameters", "best_val_accuracy", "tuning_tags"],
                name="choose_best_parameters",
            ),
            node(
                func=plot_search,
                inputs="searched_study",
                outputs=["tuning_history_plot", "tuning_importance_plot"],
                name="plot_search",
                tags=["plots"],
            ),
        ],
    )


def create_train_best_pipeline(**kwargs) -> Pipeline:
    """Create the ``train_best`` pipeline: the study's best trial, trained in full by the
    ``train`` pipeline's own nodes and put through the gate; its parameters are logged as
    the run's ``train.*``."""
    return stage(
        "train_best",
        [
            _open_study(),
            node(
                func=best_training_parameters,
                inputs="tuning_study",
                outputs=["best_train_parameters", "best_run_parameters", "best_trial_tags"],
                name="choose_best_trial",
            ),
            *training_nodes("best_train_parameters"),
            *gate_nodes(),
        ],
    )
