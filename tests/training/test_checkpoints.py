"""Training checkpoints hold every variable: weights, moving averages and the step."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # imports TensorFlow

tf = pytest.importorskip("tensorflow")

from mnist_pipeline.datasets import ResumeCheckpoints  # noqa: E402
from mnist_pipeline.parameters import MLPParameters  # noqa: E402
from mnist_pipeline.training.mlp import AveragedMLP  # noqa: E402

FINGERPRINT = {"settings": {"seed": 3}, "data_sha256": "abc"}


def _model_with_distinct_averages(seed: int) -> AveragedMLP:
    model = AveragedMLP(5, 3, MLPParameters(hidden_units=4, seed=seed))
    rng = np.random.default_rng(seed)
    for average in model.averages:  # averages unlike the weights, as after real training
        average.assign(rng.normal(0, 1, average.shape).astype(np.float32))
    model.global_step.assign(40)
    return model


def test_resuming_restores_weights_averages_and_step_exactly(tmp_path):
    trained = _model_with_distinct_averages(seed=1)
    ResumeCheckpoints(tmp_path / "ckpts").save(
        trained, 40, [(0, 0.5, float("nan"), 0.8)], FINGERPRINT
    )
    fresh = _model_with_distinct_averages(seed=2)
    resumed = ResumeCheckpoints(tmp_path / "ckpts").restore(fresh, FINGERPRINT, 100)
    assert resumed is not None and resumed.step == 40
    expected, restored = trained.state(), fresh.state()
    assert set(restored) == set(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(restored[name], value, err_msg=name)


def _saved(tmp_path, steps=(40,), fingerprint=FINGERPRINT) -> ResumeCheckpoints:
    checkpoints = ResumeCheckpoints(tmp_path / "ckpts", max_to_keep=3)
    model = _model_with_distinct_averages(seed=1)
    for step in steps:
        checkpoints.save(model, step, [(0, 0.5, float("nan"), 0.8)], fingerprint)
    return checkpoints


def _set_aside(tmp_path) -> list:
    return sorted(tmp_path.glob("ckpts.set-aside-*"))


def test_only_the_last_three_checkpoints_are_kept(tmp_path):
    _saved(tmp_path, steps=(10, 20, 30, 40, 50))
    folder = tmp_path / "ckpts"
    assert sorted(p.name for p in folder.glob("ckpt-*.index")) == [
        "ckpt-30.index",
        "ckpt-40.index",
        "ckpt-50.index",
    ]
    assert sorted(p.name for p in folder.glob("ckpt-*.json")) == [
        "ckpt-30.json",
        "ckpt-40.json",
        "ckpt-50.json",
    ]


@pytest.mark.parametrize(
    ("damage", "fingerprint", "total_steps", "reason"),
    [
        (
            None,
            {"settings": {"seed": 3}, "data_sha256": "other"},
            100,
            "the training or validation data changed",
        ),
        (None, {"settings": {"seed": 4}, "data_sha256": "abc"}, 100, "train.seed: 3 -> 4"),
        (None, FINGERPRINT, 30, "it is at step 40, beyond train.steps=30"),
        ("sidecar", FINGERPRINT, 100, "no complete checkpoint in it"),
        ("data", FINGERPRINT, 100, "cannot be read"),
    ],
    ids=["other-data", "other-settings", "beyond-steps", "half-written", "damaged"],
)
def test_a_checkpoint_that_cannot_be_resumed_is_set_aside_with_the_reason(
    tmp_path, caplog, damage, fingerprint, total_steps, reason
):
    _saved(tmp_path)
    folder = tmp_path / "ckpts"
    if damage == "sidecar":  # killed between TensorFlow's files and the sidecar
        (folder / "ckpt-40.json").unlink()
    elif damage == "data":
        (data_file,) = folder.glob("ckpt-40.data-*")
        data_file.write_bytes(data_file.read_bytes()[:10])
    fresh = _model_with_distinct_averages(seed=2)
    before = fresh.state()
    resumed = ResumeCheckpoints(folder).restore(fresh, fingerprint, total_steps)
    assert resumed is None
    assert reason in caplog.text and "training starts afresh" in caplog.text
    assert not folder.exists() and len(_set_aside(tmp_path)) == 1  # moved, never deleted
    for name, value in before.items():  # the model was left as it was
        np.testing.assert_array_equal(fresh.state()[name], value)
