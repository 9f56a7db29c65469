"""``tune``'s nodes on an in-memory Optuna study: what a trial draws, the table, the best
trial and the plots (the search with real training is in tests/e2e/test_tune.py)."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest
import yaml

from mnist_pipeline.parameters import SearchDimension, with_values
from mnist_pipeline.pipelines.tune.nodes import (
    NoCompletedTrialError,
    best_parameters,
    best_training_parameters,
    open_study,
    plot_search,
    suggest,
    trials_table,
)

from ..conftest import PROJECT_ROOT

TUNE = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_tune.yml").read_text())["tune"]
TRAIN = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_train.yml").read_text())["train"]


def _study_with(values: list[float | None]):
    """An in-memory study with one trial per value: a number completes, None is pruned."""
    study = open_study(None, TUNE)
    for value in values:
        trial = study.ask()
        drawn = suggest(trial, {"batch_size": SearchDimension(choices=[50, 100])})
        trial.set_user_attr("full_train_parameters", with_values(TRAIN, drawn))
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return study


def test_a_trial_draws_each_dimension_as_its_parameter_takes_it():
    space = {
        "learning_rate_base": SearchDimension(low=0.1, high=1.6, log=True),
        "hidden_units": SearchDimension(low=100, high=900, step=200),
        "lenet5.dropout_rate": SearchDimension(low=0.0, high=0.5),
        "model": SearchDimension(choices=["mlp", "lenet5"]),
    }
    trial = optuna.trial.FixedTrial(
        {
            "learning_rate_base": 0.4,
            "hidden_units": 300,
            "lenet5.dropout_rate": 0.25,
            "model": "mlp",
        }
    )
    values = suggest(trial, space)
    assert values == {
        "learning_rate_base": 0.4,
        "hidden_units": 300,
        "lenet5.dropout_rate": 0.25,
        "model": "mlp",
    }
    assert isinstance(values["hidden_units"], int)
    merged = with_values(TRAIN, values)
    assert merged["lenet5"]["dropout_rate"] == 0.25 and "lenet5.dropout_rate" not in merged
    assert merged["learning_rate_base"] == 0.4 and merged["steps"] == TRAIN["steps"]
    assert TRAIN["learning_rate_base"] == 0.8  # the shipped mapping is not changed


def test_the_table_and_the_best_trial_take_every_state():
    study = _study_with([0.97, None, 0.98, 0.98])
    table = trials_table(study)
    assert table["state"].tolist() == ["complete", "pruned", "complete", "complete"]
    parameters, value, tags = best_parameters(study)
    assert value == 0.98
    assert tags["tuning.best_trial"] == "2"  # the earliest of equals
    assert tags["tuning.trials_complete"] == "3" and tags["tuning.trials_pruned"] == "1"
    assert parameters["train"]["steps"] == TRAIN["steps"]  # a full run's length
    train, logged, trial_tags = best_training_parameters(study)
    assert logged == {"train": train} and trial_tags["tuning.trial"] == "2"


def test_no_completed_trial_says_what_to_do():
    study = _study_with([None])
    with pytest.raises(NoCompletedTrialError, match=r"pruned.*tune\.trials"):
        best_parameters(study)


@pytest.mark.parametrize("values", [[], [None], [0.97, None]])
def test_too_few_trials_give_notes_not_warnings(values):
    study = _study_with(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history, importance = plot_search(study)
    assert any("Not drawn yet" in text.get_text() for text in importance.texts)
    if not values:
        assert any("Not drawn yet" in text.get_text() for text in history.texts)


def test_the_plots_of_a_study():
    study = open_study(None, TUNE)
    for number in range(4):
        trial = study.ask()
        suggest(
            trial,
            {
                "batch_size": SearchDimension(choices=[50, 100]),
                "learning_rate_base": SearchDimension(low=0.1, high=1.6, log=True),
            },
        )
        study.tell(trial, 0.9 + number / 100)
    history, importance = plot_search(study)
    (history_axes,) = history.axes
    assert history_axes.get_title() == "Optimization History Plot"
    points = history_axes.collections[0].get_offsets()  # trial number, value
    np.testing.assert_allclose(points, [[0, 0.9], [1, 0.91], [2, 0.92], [3, 0.93]])
    (importance_axes,) = importance.axes
    names = {label.get_text() for label in importance_axes.get_yticklabels()}
    assert names == {"batch_size", "learning_rate_base"}
    assert not any("Not drawn yet" in text.get_text() for text in importance.texts)
