"""Model input (05_model_input) + the study (06_models) -> trials, best parameters, plots.

The study lives in the catalog's ``tuning_storage``; every trial is an MLflow run nested in
this run, which carries the study's summary. The best parameters are written as a YAML
file a user can pass back (``data/07_model_output/best_parameters.yml``), and the
``train_best`` pipeline trains them in full.
"""

from kedro.pipeline import Node, Pipeline, node

from .. import stage
from ..train.pipeline import training_nodes
from .nodes import best_parameters, best_training_parameters, open_study, plot_search, search


def _open_study() -> Node:
    """The node opening the study, first in both pipelines: an unreachable storage stops the
    run before any data is read."""
    return node(open_study, ["tuning_storage", "params:tune"], "tuning_study", name="open_study")


def create_pipeline(**kwargs) -> Pipeline:
    """Create the ``tune`` pipeline."""
    return stage(
        "tune",
        [
            _open_study(),
            node(
                search,
                [
                    "tuning_study",
                    "x_train",
                    "y_train",
                    "x_val",
                    "y_val",
                    "tuning_trial_runs",
                    "params:tune",
                    "params:train",
                ],
                "tuning_trials",
                name="search",
            ),
            node(
                best_parameters,
                ["tuning_study", "tuning_trials"],
                ["best_parameters", "best_val_accuracy", "tuning_tags"],
                name="choose_best_parameters",
            ),
            node(
                plot_search,
                ["tuning_study", "tuning_trials"],
                ["tuning_history_plot", "tuning_importance_plot"],
                name="plot_search",
                tags=["plots"],
            ),
        ],
    )


def create_train_best_pipeline(**kwargs) -> Pipeline:
    """Create the ``train_best`` pipeline: the study's best trial, trained in full by the
    ``train`` pipeline's own nodes; its parameters are logged as the run's ``train.*``."""
    return stage(
        "train_best",
        [
            _open_study(),
            node(
                best_training_parameters,
                "tuning_study",
                ["best_train_parameters", "best_run_parameters", "best_trial_tags"],
                name="choose_best_trial",
            ),
            *training_nodes("best_train_parameters"),
        ],
    )
