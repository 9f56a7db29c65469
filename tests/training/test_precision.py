"""Mixed precision: each model's step in bfloat16 products matches its float32 step.

bfloat16 keeps 8 bits of mantissa: every operand and result of a product is rounded by
at most 2**-9 of its value. After one step on a batch of 100, the change each variable
receives is compared with the float32 step's. The gradient that reaches the first layer
has passed through every product of the network, forward and back (eight for LeNet-5),
each adding up to 2**-9: their sum, 2**-6, doubled for the cancellation in the
gradients' sums over the batch, gives the bound 2**-5 (3%) of the float32 change. The
cross-entropy, one forward pass, is within 2**-7.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # imports TensorFlow

tf = pytest.importorskip("tensorflow")

from mnist_pipeline.parameters import train_parameters  # noqa: E402
from mnist_pipeline.training import lenet5  # noqa: E402
from mnist_pipeline.training.fused_steps import FusedTrainer, TrainingInputs  # noqa: E402
from mnist_pipeline.training.mlp import AveragedMLP  # noqa: E402
from mnist_pipeline.training.precision import (  # noqa: E402
    announce,
    fast_bfloat16_available,
)
from mnist_pipeline.training.reference_step import ReferenceTrainer  # noqa: E402
from mnist_pipeline.training.schedules import Schedule  # noqa: E402

STEP_TOLERANCE = 2.0**-5
LOSS_TOLERANCE = 2.0**-7


def _batch(rows: int = 100):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (rows, 784)).astype(np.float32)
    x[:, :30] = 0.0  # a border that is zero everywhere, as MNIST's
    return x, rng.integers(0, 10, rows).astype(np.int32)


def _changes(model, before) -> list[np.ndarray]:
    return [v.numpy() - b for v, b in zip(model.weights, before, strict=True)]


def _assert_close_steps(mixed_changes, float32_changes):
    # Close, but not the float32 step itself: the products really were bfloat16.
    pairs = zip(mixed_changes, float32_changes, strict=True)
    assert any(not np.array_equal(mixed, exact) for mixed, exact in pairs)
    for index, (mixed, exact) in enumerate(zip(mixed_changes, float32_changes, strict=True)):
        error = np.linalg.norm(mixed - exact) / np.linalg.norm(exact)
        assert error < STEP_TOLERANCE, f"variable {index}: relative difference {error:.4f}"


def _one_plain_step(rate: float):
    def step(model, x, labels):
        schedule = Schedule(rate, 1.0, 1, False, 0.99)
        trainer = ReferenceTrainer(model, x, labels, schedule)
        return trainer.train_steps(np.arange(len(x))[np.newaxis])

    return step


@pytest.mark.parametrize(
    ("model_class", "params", "step"),
    [
        (AveragedMLP, {}, _one_plain_step(0.5)),
        (
            lenet5.AveragedLeNet5,
            # The full network (the error depends on its depth), without dropout.
            {"model": "lenet5", "dropout_rate": 0.0},
            _one_plain_step(0.05),
        ),
    ],
    ids=["mlp-plain", "lenet5"],
)
def test_a_mixed_precision_step_matches_the_float32_step(model_class, params, step):
    x, labels = _batch()
    results = {}
    for precision in ("float32", "mixed_bfloat16"):
        config = train_parameters({**params, "precision": precision})
        model = model_class(784, 10, config)
        before = [v.numpy() for v in model.weights]
        loss = step(model, x, labels)
        results[precision] = (loss, _changes(model, before))
        for variable in [*model.weights, *model.averages]:
            assert variable.dtype == tf.float32
    assert results["mixed_bfloat16"][0] == pytest.approx(results["float32"][0], rel=LOSS_TOLERANCE)
    _assert_close_steps(results["mixed_bfloat16"][1], results["float32"][1])


def test_the_fused_mlp_step_in_mixed_precision_matches_its_float32_step():
    x, labels = _batch()
    changes = {}
    for precision in ("float32", "mixed_bfloat16"):
        model = AveragedMLP(784, 10, train_parameters({"precision": precision}))
        before = [v.numpy() for v in model.weights]
        trainer = FusedTrainer(model, TrainingInputs.from_arrays(x, labels), shards=2)
        trainer.run_steps(np.arange(100)[np.newaxis], np.array([0.5]), np.array([0.1]))
        changes[precision] = _changes(model, before)
        assert all(v.dtype == tf.float32 for v in [*model.weights, *model.averages])
    # weights1's rows of the zero border change only by the L2 decay, in both.
    _assert_close_steps(changes["mixed_bfloat16"], changes["float32"])


def test_fast_bfloat16_is_read_from_the_cpu_flags_or_a_gpu(tmp_path, monkeypatch):
    with_flag, without = tmp_path / "with", tmp_path / "without"
    with_flag.write_text("flags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n")
    without.write_text("flags\t\t: fpu sse avx2\n")
    devices = {"GPU": []}  # the machine's own GPUs do not decide what this test sees
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: devices.get(kind, []))
    assert fast_bfloat16_available(with_flag)
    assert not fast_bfloat16_available(without)
    assert not fast_bfloat16_available(tmp_path / "no-such-file")
    devices["GPU"] = ["a GPU"]
    assert fast_bfloat16_available(without)


def test_a_machine_without_fast_bfloat16_is_told_in_one_line(monkeypatch, caplog):
    monkeypatch.setattr(
        "mnist_pipeline.training.precision.fast_bfloat16_available", lambda *_: False
    )
    with caplog.at_level(logging.WARNING):
        announce("float32")
        assert not caplog.records
        announce("mixed_bfloat16")
    (record,) = caplog.records
    assert "no fast bfloat16 path" in record.getMessage()
    assert "\n" not in record.getMessage()
