"""The challenger/champion gate on the real MNIST files, with the shipped criteria; the
data lineage and the model card of each version; moving the champion by hand."""

from __future__ import annotations

import hashlib

import pytest

from ..conftest import model_input
from ..project import copy_outputs, copy_project, mlflow_store, run_kedro, write_model_input

pytestmark = pytest.mark.slow

#: The SHA-256 of the decompressed raw files (../shared/data/mnist/README.md).
SHA256 = {
    "train": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "test": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}


def _train(project, steps: int) -> None:
    params = f"--params=train.steps={steps},train.eval_every={steps}"
    # A sample of the system metrics every second (MLflow's default, 10 s, is longer than
    # these runs train).
    sampling = {"MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "1"}
    result = run_kedro(project, "run", "--pipeline=train", params, env=sampling)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def project(tmp_path_factory, trained_real_project):
    """The real files, preprocessed, and a fresh registry with the shipped gate: versions 1
    (2,000 steps), 2 (500: worse) and 3 (6,000: better by more than min_gain, from training
    longer, not from a luckier seed)."""
    root = copy_project(tmp_path_factory.mktemp("gate") / "project", gate=None)
    copy_outputs(trained_real_project, root, store=False)
    for steps in (2000, 500, 6000):
        _train(root, steps)
    return root


def _version(client, number: int):
    return client.get_model_version("mnist_classifier", str(number))


def test_the_first_version_is_champion_a_worse_one_stays_challenger_a_better_one_takes_over(
    project,
):
    client, _ = mlflow_store(project)
    first, worse, better = (_version(client, n) for n in (1, 2, 3))
    assert first.tags["promotion"] == "champion: the first version that passes the gate"
    assert worse.tags["promoted"] == "false"
    assert worse.tags["promotion"].startswith("stays challenger: accuracy_gain")
    assert worse.tags["gate.against_version"] == "1"
    assert better.tags["promoted"] == "true" and better.tags["gate.against_version"] == "1"
    assert float(better.tags["val_accuracy"]) >= float(first.tags["val_accuracy"]) + 0.002
    assert better.tags["replaced_champion"] == "1" and "replaced_champion" not in first.tags
    assert str(client.get_model_version_by_alias("mnist_classifier", "champion").version) == "3"
    assert str(client.get_model_version_by_alias("mnist_classifier", "challenger").version) == "3"
    for version in (first, worse, better):
        assert {"gate.serving", "gate.class_recall_floor"} <= set(version.tags)


def test_the_gate_logs_mlflows_evaluation_on_the_candidates_run(project):
    client, _ = mlflow_store(project)
    run = client.get_run(_version(client, 2).run_id)
    assert run.data.metrics["gate_validation_accuracy_score"] == pytest.approx(
        float(_version(client, 2).tags["val_accuracy"])
    )


def test_each_training_run_logs_the_three_splits_with_their_digests(project):
    client, _ = mlflow_store(project)
    run = client.get_run(_version(client, 1).run_id)
    logged = {
        item.dataset.name: (item.dataset.digest, {t.key: t.value for t in item.tags})
        for item in run.inputs.dataset_inputs
    }
    for split, raw, context in (
        ("train", "train", "training"),
        ("validation", "train", "validation"),
        ("test", "test", "test"),
    ):
        images, labels = SHA256[raw]
        text = f"{split}:{images}:{labels}:validation_size=5000"
        digest, tags = logged[f"mnist-{split}"]
        assert digest == hashlib.sha256(text.encode()).hexdigest()[:16]
        assert tags["mlflow.data.context"] == context and tags["images_sha256"] == images
    assert any(key.startswith("system/") for key in run.data.metrics)  # CPU, memory


def test_the_model_card_holds_the_figures_of_its_run(project):
    client, _ = mlflow_store(project)
    version = _version(client, 3)
    run = client.get_run(version.run_id)
    card = version.description
    assert card.startswith("# mnist_classifier version 3")
    assert f"test accuracy: {run.data.metrics['test_accuracy']:.4f}" in card
    assert f"gate): {float(version.tags['val_accuracy']):.4f}" in card
    assert "| validation recall |" in card and "mnist-train" in card
    assert "mlflow models serve -m models:/mnist_classifier/3" in card
    assert "`learning_rate_base`: 0.8" in card


def test_promote_and_roll_back_by_hand(project):
    result = run_kedro(project, "champion", "promote", "1", "--reason", "a steadier seven")
    assert result.returncode == 0, result.stderr[-3000:]
    client, _ = mlflow_store(project)
    assert str(client.get_model_version_by_alias("mnist_classifier", "champion").version) == "1"
    assert _version(client, 1).tags["promoted_by_hand"].endswith(": a steadier seven")
    result = run_kedro(project, "champion", "rollback", "--reason", "sevens were fine")
    assert result.returncode == 0, result.stderr[-3000:]
    client, _ = mlflow_store(project)
    assert str(client.get_model_version_by_alias("mnist_classifier", "champion").version) == "3"
    assert _version(client, 1).tags["rolled_back"].endswith(": sevens were fine")
    missing = run_kedro(project, "champion", "promote", "99", "--reason", "typo")
    assert missing.returncode == 1 and "There is no version 99" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_candidate_whose_served_model_cannot_answer_never_becomes_champion(tmp_path):
    project = copy_project(tmp_path / "project")  # the lenient gate: only serving can fail
    write_model_input(project, model_input(1000, 200, 200))
    nodes = project / "src" / "mnist_pipeline" / "pipelines" / "inference" / "nodes.py"
    source = nodes.read_text()
    first_line = "    probabilities = confidence.probabilities(logits)\n"
    broken = source.replace(
        first_line, '    raise RuntimeError("broken on purpose")\n' + first_line
    )
    assert broken != source
    nodes.write_text(broken)
    result = run_kedro(project, "run", "--pipeline=train", "--params=train.steps=20")
    assert result.returncode == 0, result.stderr[-3000:]
    client, _ = mlflow_store(project)
    (found,) = client.search_model_versions("name = 'mnist_classifier'")
    version = _version(client, found.version)  # a search leaves out the aliases
    assert version.tags["promoted"] == "false"
    assert version.tags["gate.serving"].startswith("fail: ")
    assert "champion" not in version.aliases and "challenger" in version.aliases
