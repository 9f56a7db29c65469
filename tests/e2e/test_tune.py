"""The search (``kedro run --pipeline=tune``) in a temporary project on the real MNIST files:
trials in MLflow, pruning, the best parameters, a study that continues, ``train_best``."""

from __future__ import annotations

import optuna
import pytest
import yaml

from mnist_pipeline.parameters import train_parameters

from ..conftest import closed_port_url
from ..project import copy_outputs, copy_project, mlflow_store, run_kedro

pytestmark = pytest.mark.slow

#: A tiny search: short trials, a pruner that keeps only a trial that is the best so far
#: (the top 1 %), from the first evaluation point.
TINY = (
    "--params=tune.trials=5,tune.steps=300,tune.eval_every=100,tune.startup_trials=2,"
    "tune.pruner_startup_trials=1,tune.pruner_warmup_steps=0,tune.pruner_percentile=1,"
    "train.steps=600,train.eval_every=300"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory, trained_real_project):
    """A project copy on the real files, preprocessed, after one tiny search."""
    root = copy_project(tmp_path_factory.mktemp("tune") / "project")
    copy_outputs(trained_real_project, root, store=False)
    result = run_kedro(root, "run", "--pipeline=tune", TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def _study(project):
    return optuna.load_study(
        study_name="mnist_pipeline",
        storage=f"sqlite:///{project / 'data' / '06_models' / 'tuning' / 'optuna.db'}",
    )


def test_every_trial_is_a_nested_run_with_its_history_and_state(project):
    client, runs = mlflow_store(project)
    (parent,) = [run for run in runs if run.info.run_name == "tune"]
    trials = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(int(run.data.tags["tuning.trial"]) for run in trials) == [0, 1, 2, 3, 4]
    states = {run.data.tags["trial_state"] for run in trials}
    assert "pruned" in states and "complete" in states
    for run in trials:
        assert run.data.params["train.learning_rate_base"]
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert [m.step for m in sorted(history, key=lambda m: m.step)][:2] == [0, 100]
    study = _study(project)
    by_state = {t.number: t.state.name.lower() for t in study.trials}
    assert {
        int(r.data.tags["tuning.trial"]): r.data.tags["trial_state"] for r in trials
    } == by_state


def test_the_search_run_carries_the_summary(project):
    client, runs = mlflow_store(project, "tune")
    (parent,) = runs
    best = _study(project).best_trial
    assert parent.data.metrics["best_val_accuracy"] == pytest.approx(best.value)
    assert parent.data.tags["tuning.best_trial"] == str(best.number)
    files = {path.split("/")[-1] for path in _artifacts(client, parent.info.run_id)}
    expected = {"tuning_trials.csv", "best_parameters.yml"}
    assert expected | {"tuning_history.png", "tuning_importance.png"} <= files


def _artifacts(client, run_id, path=None):
    found = []
    for item in client.list_artifacts(run_id, path):
        found += _artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return found


def test_the_best_parameters_can_be_passed_back(project):
    best = yaml.safe_load(
        (project / "data" / "07_model_output" / "best_parameters.yml").read_text()
    )
    config = train_parameters(best["train"])
    trial = _study(project).best_trial
    assert config.learning_rate_base == pytest.approx(trial.params["learning_rate_base"])
    assert config.steps == 600  # a full run's length (train.steps), not the trials'


def test_the_test_set_is_never_read_by_the_search(project):
    result = run_kedro(project, "run", "--pipeline=tune", TINY.replace("trials=5", "trials=1"))
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert "Loading data from x_test" not in log and "Loading data from y_test" not in log


def test_running_again_continues_the_same_study(project):
    before = len(_study(project).trials)
    result = run_kedro(project, "run", "--pipeline=tune", TINY.replace("trials=5", "trials=2"))
    assert result.returncode == 0, result.stderr[-3000:]
    numbers = sorted(t.number for t in _study(project).trials)
    assert numbers == list(range(before + 2))


def test_train_best_trains_registers_and_applies_the_champion_rule(project):
    result = run_kedro(project, "run", "--pipeline=train_best")
    assert result.returncode == 0, result.stderr[-3000:]
    client, (run, *_) = mlflow_store(project, "train_best")
    best = _study(project).best_trial
    assert run.data.tags["tuning.trial"] == str(best.number)
    assert float(run.data.params["train.learning_rate_base"]) == pytest.approx(
        best.params["learning_rate_base"]
    )
    assert run.data.params["train.steps"] == "600"
    (version,) = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    assert version.tags["tuning.study"] == "mnist_pipeline"
    assert version.tags["tuning.trial"] == str(best.number)
    assert version.tags["promoted"] == "true"  # the first version: the champion rule's choice


def test_a_bad_search_space_is_refused_before_any_trial(project):
    trials = len(_study(project).trials)
    bad = "--params=tune.space.regularization_rate.low=0"
    result = run_kedro(project, "run", "--pipeline=tune", bad)
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "tune.space.regularization_rate is invalid: a log scale needs low > 0" in line
    assert len(_study(project).trials) == trials


def test_a_storage_that_cannot_be_reached_stops_with_one_line(project):
    unreachable = closed_port_url().replace("http://", "postgresql+psycopg://postgres@") + "optuna"
    local = project / "conf" / "local" / "catalog.yml"
    local.write_text(
        f"tuning_storage:\n  type: mnist_pipeline.datasets.OptunaStorageDataset\n"
        f"  url: {unreachable}\n"
    )
    try:
        result = run_kedro(project, "run", "--pipeline=tune", TINY)
    finally:
        local.unlink()
    assert result.returncode == 1
    assert "The study storage postgresql+psycopg://postgres@127.0.0.1" in result.stderr
    assert "cannot be opened" in result.stderr and "MNIST_TUNING_STORAGE" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Running node: tune.search" not in result.stdout + result.stderr
