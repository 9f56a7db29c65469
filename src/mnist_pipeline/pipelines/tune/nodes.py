"""Search the ``train`` parameters with Optuna, through the same training loop as ``train``.

Each trial takes ``train``'s settings, replaces the searched ones by its own (drawn by a
seeded TPE sampler from ``tune.space``), trains for ``tune.steps`` steps with the loop
``kedro run`` uses, and scores the validation accuracy of the averaged network at its
last step; the test set is never seen. At every evaluation point the loop's validation
accuracy goes to the pruner (``trial.report`` / ``should_prune``), which may stop the
trial there. Settings that cannot work, or training that diverges, fail that trial with
the reason and the search goes on. Optuna and TensorFlow are imported when a node runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mnist_pipeline.errors import UserFacingError
from mnist_pipeline.parameters import (
    ParameterError,
    SearchDimension,
    TuneParameters,
    train_field,
    train_parameters,
    with_values,
)

from ..evaluate.nodes import Figure


class TrainingDivergedError(RuntimeError):
    """A trial's training loss stopped being a number: its settings diverge."""


class NoCompletedTrialError(UserFacingError, RuntimeError):
    """The study holds no completed trial to take the best parameters from."""


def open_study(storage: Any, tune: Mapping[str, Any]) -> Any:
    """The study ``tune.study_name`` on ``storage``, created on first use, with its seeded
    TPE sampler (the worker's number added to the seed) and its pruner."""
    import optuna  # noqa: PLC0415

    config = TuneParameters.check(tune)
    sampler = optuna.samplers.TPESampler(
        seed=config.seed + config.worker, n_startup_trials=config.startup_trials
    )
    pruner = (
        optuna.pruners.PercentilePruner(
            config.pruner_percentile,
            n_startup_trials=config.pruner_startup_trials,
            n_warmup_steps=config.pruner_warmup_steps,
        )
        if config.pruner == "percentile"
        else optuna.pruners.NopPruner()
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the trials are in MLflow and the log
    return optuna.create_study(
        storage=storage,
        study_name=config.study_name,
        direction="maximize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )


def suggest(trial: Any, space: Mapping[str, SearchDimension]) -> dict[str, Any]:
    """The trial's value of every dimension of ``space``, as its train parameter takes it."""
    values = {}
    for name, dimension in space.items():
        if dimension.choices is not None:
            values[name] = trial.suggest_categorical(name, dimension.choices)
        elif train_field(name).annotation is float:
            values[name] = trial.suggest_float(
                name, dimension.low, dimension.high, step=dimension.step, log=dimension.log
            )
        else:
            values[name] = trial.suggest_int(
                name,
                int(dimension.low),
                int(dimension.high),
                step=int(dimension.step or 1),
                log=dimension.log,
            )
    return values


def search(
    study: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    trial_runs: Any,
    tune: Mapping[str, Any],
    train: Mapping[str, Any],
) -> tuple[pd.DataFrame, Any]:
    """Run this worker's trials (its budget: ``tune.trials``, ``tune.timeout_minutes``);
    the table of every trial of the study, all workers' included, and the study searched."""
    import optuna  # noqa: PLC0415

    from mnist_pipeline.training.loop import train as train_network  # noqa: PLC0415

    config = TuneParameters.check(tune)

    def objective(trial) -> float:
        values = suggest(trial, config.space)
        # The trial's own length and validation points, unless the space sets its steps.
        parameters = with_values(train, {"steps": config.steps, **values})
        parameters.update(eval_every=config.eval_every, resume=False)
        # What training this trial in full would take: the train_best pipeline reads it.
        trial.set_user_attr("full_train_parameters", with_values(train, values))
        with trial_runs.run(config.study_name, trial.number, values) as log:
            try:
                settings = train_parameters(parameters, training_examples=len(x_train))
            except ParameterError as exc:
                trial.set_user_attr("fail_reason", str(exc))
                raise

            def report(step: int, metrics: Mapping[str, float]) -> None:
                log(step, metrics)
                if step > 0 and not math.isfinite(metrics["train_loss"]):
                    reason = f"the training loss is {metrics['train_loss']} at step {step}"
                    trial.set_user_attr("fail_reason", reason)
                    raise TrainingDivergedError(reason)
                if step == 0:  # the untrained network: nothing to judge yet
                    return
                trial.report(metrics["val_accuracy"], step)
                if trial.should_prune():
                    raise optuna.TrialPruned(
                        f"validation accuracy {metrics['val_accuracy']:.4f} at step {step}"
                    )

            result = train_network(x_train, y_train, x_val, y_val, settings, log_metrics=report)
        return float(result.history["val_accuracy"].iloc[-1])

    study.optimize(
        objective,
        n_trials=config.trials,
        timeout=None if config.timeout_minutes is None else config.timeout_minutes * 60,
        catch=(ParameterError, TrainingDivergedError),
    )
    return trials_table(study), study


def trials_table(study: Any) -> pd.DataFrame:
    """One row per trial: number, state, value, seconds, parameters, why it failed."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        seconds = trial.duration.total_seconds() if trial.duration is not None else np.nan
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                "val_accuracy": trial.value,
                "last_step": trial.last_step,
                "seconds": seconds,
                **{f"params_{name}": value for name, value in trial.params.items()},
                "fail_reason": trial.user_attrs.get("fail_reason", ""),
            }
        )
    return pd.DataFrame(rows)


def best_trial(study: Any) -> Any:
    """The study's best completed trial (the earliest of equals), all workers' included.

    Raises:
        NoCompletedTrialError: when no trial has completed yet.
    """
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not complete:
        states = sorted({t.state.name.lower() for t in study.get_trials(deepcopy=False)})
        raise NoCompletedTrialError(
            f"No trial of study {study.study_name!r} has completed (trials: "
            f"{', '.join(states) or 'none'}): give the search a larger budget (tune.trials, "
            "tune.timeout_minutes) or another pruner, and run `kedro run --pipeline=tune` "
            "again; the study continues."
        )
    return max(complete, key=lambda trial: (trial.value, -trial.number))


def best_parameters(study: Any) -> tuple[dict[str, Any], float, dict[str, str]]:
    """The best trial's parameters as a whole ``train`` mapping (the steps of a full run
    unless the space searched them), its validation accuracy, and the search run's tags."""
    best = best_trial(study)
    states = pd.Series([t.state.name.lower() for t in study.get_trials(deepcopy=False)])
    tags = {
        "tuning.study": study.study_name,
        "tuning.best_trial": str(best.number),
        **{f"tuning.trials_{state}": str(count) for state, count in states.value_counts().items()},
    }
    return {"train": best.user_attrs["full_train_parameters"]}, float(best.value), tags


def best_training_parameters(study: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """What ``train_best`` trains: the best trial's whole ``train`` mapping, the same as the
    run's parameters, and tags naming the study and trial it came from."""
    best = best_trial(study)
    train = best.user_attrs["full_train_parameters"]
    tags = {
        "tuning.study": study.study_name,
        "tuning.trial": str(best.number),
        "tuning.val_accuracy": f"{best.value:.6f}",
    }
    return train, {"train": train}, tags


def _note(text: str) -> Figure:
    """A small figure that says why a plot is not drawn."""
    from matplotlib.figure import Figure as MatplotlibFigure  # noqa: PLC0415

    figure = MatplotlibFigure(figsize=(6, 2))
    figure.text(0.5, 0.5, f"Not drawn yet: {text}", ha="center", va="center", wrap=True)
    return figure


def _figure_of(draw, study: Any) -> Figure:
    """An Optuna matplotlib plot of ``study`` as a figure; a note when it cannot be drawn."""
    import optuna  # noqa: PLC0415

    with warnings.catch_warnings():  # its matplotlib plots are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            axes = draw(study)
        except (ValueError, RuntimeError) as exc:
            return _note(str(exc))
    figure = axes.get_figure()
    figure.set_size_inches(8, 5)
    figure.tight_layout()
    return figure


def plot_search(study: Any) -> tuple[Figure, Figure]:
    """Optuna's optimisation history and parameter importances of the searched study."""
    from optuna.trial import TrialState  # noqa: PLC0415
    from optuna.visualization import matplotlib as plots  # noqa: PLC0415

    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    history = (
        _figure_of(plots.plot_optimization_history, study)
        if complete
        else _note("no trial of the study has completed")
    )
    if complete < 2:  # Optuna would warn and draw every parameter at importance 0
        return history, _note(f"importances need 2 complete trials; the study has {complete}")
    return history, _figure_of(plots.plot_param_importances, study)
