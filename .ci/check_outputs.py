"""Checks CI makes on what the real pipelines wrote (run from the project root)."""

from __future__ import annotations

import argparse
import sys

import numpy as np


def check_model_input() -> None:
    """Shapes, types and ranges of the preprocessed arrays; the validation split order."""
    load = lambda name: np.load(f"data/05_model_input/{name}.npy")  # noqa: E731
    x_train, y_train, x_val, x_test = (
        load("x_train"),
        load("y_train"),
        load("x_val"),
        load("x_test"),
    )
    assert x_train.shape == (55000, 784) and x_train.dtype == np.float32, x_train.shape
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0
    assert y_train.shape == (55000, 10) and (y_train.sum(axis=1) == 1).all()
    assert x_test.shape == (10000, 784)
    raw = np.load("data/02_intermediate/train_images.npy")
    expected_val = raw[:5000].reshape(5000, -1).astype(np.float32) * (1.0 / 255.0)
    assert np.array_equal(x_val, expected_val), "x_val is not the first 5,000 training images"
    print("model input OK:", {n: load(n).shape for n in ("x_train", "y_train", "x_val", "x_test")})


def _newest_run(name: str):
    """A client on the project's store and its newest run named ``name``."""
    import mlflow

    client = mlflow.MlflowClient(
        tracking_uri="sqlite:///mlflow.db", registry_uri="sqlite:///mlflow.db"
    )
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(
        experiments, f"tags.`mlflow.runName` = '{name}'", order_by=["attributes.start_time DESC"]
    )
    assert runs, f"no {name} run in mlflow.db"
    return client, runs[0]


def check_tracking(min_test_accuracy: float) -> None:
    """The newest `__default__` run: finished, with test accuracy, artifacts and its model
    registered as a version of mnist_classifier with the champion decision on its tags."""
    client, run = _newest_run("__default__")
    accuracy = run.data.metrics["test_accuracy"]
    steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "val_accuracy"))
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    print(
        f"run {run.info.run_id}: status {run.info.status}, test_accuracy {accuracy:.4f}, "
        f"{len(steps)} validation points, artifacts {sorted(artifacts)}"
    )
    assert run.info.status == "FINISHED"
    # Training and evaluate log under distinct keys into a `__default__` run: one value each.
    for key in ("test_accuracy", "evaluation_test_accuracy"):
        assert len(client.get_metric_history(run.info.run_id, key)) == 1, key
    assert abs(run.data.metrics["evaluation_test_accuracy"] - accuracy) < 1e-6
    assert accuracy >= min_test_accuracy, f"test accuracy {accuracy} < {min_test_accuracy}"
    assert steps == list(range(0, 20001, 1000)), steps
    assert "checkpoint" in artifacts, artifacts
    (version,) = client.search_model_versions(
        f"name = 'mnist_classifier' and run_id = '{run.info.run_id}'"
    )
    champion = client.get_model_version_by_alias("mnist_classifier", "champion")
    print(
        f"registered mnist_classifier version {version.version}: {version.tags['promotion']}; "
        f"champion is version {champion.version}"
    )
    assert version.tags["promoted"] in ("true", "false")
    assert (str(champion.version) == str(version.version)) == (version.tags["promoted"] == "true")


def check_evaluation() -> None:
    """The newest `evaluate` run: same accuracy as its training run, tagged, with reports."""
    client, evaluation = _newest_run("evaluate")
    training = client.get_run(evaluation.data.tags["training_run_id"])
    assert training.info.run_id != evaluation.info.run_id, "the evaluation is tagged with itself"
    ours = evaluation.data.metrics["evaluation_test_accuracy"]
    theirs = training.data.metrics["test_accuracy"]  # the training loop's own figure
    artifacts = sorted(
        f.path
        for folder in ("plots", "reports")
        for f in client.list_artifacts(evaluation.info.run_id, folder)
    )
    print(
        f"evaluate run {evaluation.info.run_id}: evaluation_test_accuracy {ours:.4f} "
        f"(training run {training.info.run_id}: {theirs:.4f}), artifacts {artifacts}"
    )
    assert abs(ours - theirs) < 1e-6
    # confusion matrix, learning curve, mistakes, reliability diagram; per-class and
    # rejection reports
    assert len(artifacts) == 7, artifacts
    robustness = {
        key: round(value, 4)
        for key, value in evaluation.data.metrics.items()
        if key.startswith(("evaluation_shifted", "evaluation_calibration", "evaluation_fashion"))
    }
    print(f"  robustness: {robustness}")
    assert {"evaluation_shifted_test_accuracy", "evaluation_fashion_mnist_auroc"} <= set(robustness)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["model-input", "tracking", "evaluation"])
    parser.add_argument("--min-test-accuracy", type=float, default=0.983)
    args = parser.parse_args()
    if args.what == "model-input":
        check_model_input()
    elif args.what == "tracking":
        check_tracking(args.min_test_accuracy)
    else:
        check_evaluation()


if __name__ == "__main__":
    sys.exit(main())
