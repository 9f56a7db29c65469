"""How fast can a training step be on this machine? Its matrix kernels' floor, and the steps.

A training step cannot be faster than the matrix kernels it must run, and mixed precision
(``train.precision: mixed_bfloat16``) speeds up only those kernels: variables, updates,
L2, moving averages, biases, ReLUs, pools and the loss stay float32. This script times,
in one process:

1. each kernel of one step alone (batch 100, the settings of
   ``conf/base/parameters_train.yml``), in float32 and in bfloat16 with the operands
   already bfloat16 (no casts), with the thread pools training uses:

   - ``--model lenet5``: both forward convolutions, the gradients of both filters and of
     the second convolution's input, and the three products of the 3136x512 layer;
   - ``--model mlp``: the fused step's two large products of the first layer (forward and
     weight gradient; its input gradient is never needed) for one shard of hidden units;
     the shards run side by side, one per core, so one shard's kernels are the step's
     (the 10-wide products stay float32 in mixed precision and are left out);

2. the project's whole step in float32 and in mixed precision (``lenet5`` and
   ``lenet5+bf16``; ``fused`` and ``fused+bf16``), and for LeNet-5 the same network in plain
   Keras (``keras-lenet5``, ``model.fit``: the reference of ``train_speed.py --model lenet5``),
   on the real training set.

Printed: ms per kernel and per step (min and median of ``--repeats`` rounds; kernels run
in a compiled loop, so no Python call sits between them), each dtype's floor (the sum of
its kernels' minima), and what the floors allow:

- mixed precision's speed-up can be at most ``float32 step / bfloat16 floor``: the step
  as nothing but its bfloat16 kernels;
- for LeNet-5, whose ops run one after another, the estimate with only the kernels made
  faster and the rest as in float32: ``float32 step / (float32 step - float32 floor +
  bfloat16 floor)`` (for the MLP no such sum holds: its shards' ops overlap);
- for LeNet-5, the float32 step can be at best its float32 floor, as a fraction of the
  Keras step.

Run from the project root after ``kedro run --pipeline=ingest,preprocess``:

    python benchmarks/kernel_floors.py --model lenet5
    python benchmarks/kernel_floors.py --model mlp --steps 1000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
SIDE = 28


def _config(model: str, precision: str):
    from mnist_pipeline.parameters import train_parameters

    params = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_train.yml").read_text())
    return train_parameters({**params["train"], "model": model, "precision": precision})


def _timed(run, calls: int, repeats: int) -> tuple[float, float]:
    """(min, median) milliseconds per call of ``run`` over ``repeats`` rounds."""
    run()
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            result = run()
        np.asarray(result)  # wait for the last call's kernels
        rounds.append((time.perf_counter() - start) / calls * 1e3)
    return min(rounds), statistics.median(rounds)


def lenet5_kernels(config, dtype) -> dict:
    """The matrix kernels of one LeNet-5 step, each as a call."""
    import tensorflow as tf

    batch, k = config.batch_size, config.kernel_size
    c1, c2, fc = config.conv1_filters, config.conv2_filters, config.fc_units
    flat = (SIDE // 4) ** 2 * c2
    generator = tf.random.Generator.from_seed(0)

    def tensor(*shape):
        return tf.cast(generator.normal(shape), dtype)

    images, pool1 = tensor(batch, SIDE, SIDE, 1), tensor(batch, SIDE // 2, SIDE // 2, c1)
    filters1, filters2 = tensor(k, k, 1, c1), tensor(k, k, c1, c2)
    d_conv1, d_conv2 = tensor(batch, SIDE, SIDE, c1), tensor(batch, SIDE // 2, SIDE // 2, c2)
    flat_x, fc_w, d_fc = tensor(batch, flat), tensor(flat, fc), tensor(batch, fc)
    same = {"strides": [1, 1, 1, 1], "padding": "SAME"}
    calls = {
        "conv1 forward": lambda: tf.nn.conv2d(images, filters1, **same),
        "conv1 filter gradient": lambda: tf.raw_ops.Conv2DBackpropFilter(
            input=images, filter_sizes=filters1.shape, out_backprop=d_conv1, **same
        ),
        "conv2 forward": lambda: tf.nn.conv2d(pool1, filters2, **same),
        "conv2 input gradient": lambda: tf.raw_ops.Conv2DBackpropInput(
            input_sizes=pool1.shape, filter=filters2, out_backprop=d_conv2, **same
        ),
        "conv2 filter gradient": lambda: tf.raw_ops.Conv2DBackpropFilter(
            input=pool1, filter_sizes=filters2.shape, out_backprop=d_conv2, **same
        ),
        "fc1 forward": lambda: tf.matmul(flat_x, fc_w),
        "fc1 input gradient": lambda: tf.matmul(d_fc, fc_w, transpose_b=True),
        "fc1 weight gradient": lambda: tf.matmul(flat_x, d_fc, transpose_a=True),
    }
    return calls


def mlp_kernels(config, dtype, used_features: int, shards: int) -> dict:
    """The two large products of one shard of the fused MLP step, each as a call."""
    import tensorflow as tf

    from mnist_pipeline.training.fused_steps import shard_bounds

    widest = max(units.stop - units.start for units in shard_bounds(config.hidden_units, shards))
    generator = tf.random.Generator.from_seed(0)

    def tensor(*shape):
        return tf.cast(generator.normal(shape), dtype)

    batch_x, weights = tensor(config.batch_size, used_features), tensor(used_features, widest)
    d_hidden = tensor(config.batch_size, widest)
    calls = {
        "layer 1 forward": lambda: tf.matmul(batch_x, weights),
        "layer 1 weight gradient": lambda: tf.matmul(batch_x, d_hidden, transpose_a=True),
    }
    return calls


def lenet5_steps(x: np.ndarray, labels: np.ndarray, steps: int) -> dict:
    """``steps`` steps of each LeNet-5 implementation, each as one call."""
    import tensorflow as tf
    from train_speed import keras_lenet5

    from mnist_pipeline.training.lenet5 import AveragedLeNet5
    from mnist_pipeline.training.reference_step import ReferenceTrainer
    from mnist_pipeline.training.schedules import Schedule

    def project(precision: str):
        config = _config("lenet5", precision)
        network = AveragedLeNet5(x.shape[1], 10, config)
        trainer = ReferenceTrainer(network, x, labels, Schedule.of(config, len(x)))
        rows = _rows(config, len(x), steps)
        return lambda: trainer.train_steps(rows)

    config = _config("lenet5", "float32")
    model = keras_lenet5(config, len(x))
    batches = tf.data.Dataset.from_tensor_slices((x, labels)).repeat().batch(config.batch_size)

    def keras_fit():
        fitted = model.fit(batches, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
        return fitted.history["loss"]

    return {
        "keras-lenet5": keras_fit,
        "lenet5": project("float32"),
        "lenet5+bf16": project("mixed_bfloat16"),
    }


def mlp_steps(inputs, num_inputs: int, steps: int, shards: int) -> dict:
    """``steps`` fused MLP steps in each precision on ``inputs`` (a ``TrainingInputs``),
    each as one call."""
    from mnist_pipeline.training.fused_steps import FusedTrainer
    from mnist_pipeline.training.mlp import AveragedMLP

    examples = int(inputs.labels.shape[0])

    def project(precision: str):
        config = _config("mlp", precision)
        trainer = FusedTrainer(AveragedMLP(num_inputs, 10, config), inputs, shards=shards)
        return _stepper(trainer, config, examples, steps)

    return {"fused": project("float32"), "fused+bf16": project("mixed_bfloat16")}


def _rows(config, examples: int, steps: int) -> np.ndarray:
    """The rows of ``steps`` batches, in order."""
    return np.arange(steps * config.batch_size).reshape(steps, config.batch_size) % examples


def _stepper(trainer, config, examples: int, steps: int):
    """A call running ``steps`` of ``trainer`` at the base rate and the full decay."""
    rates = np.full(steps, config.learning_rate_base)
    decays = np.full(steps, config.moving_average_decay)
    return lambda: trainer.run_steps(_rows(config, examples, steps), rates, decays)


def _repeated(call, times: int):
    """One compiled call running ``call`` ``times`` times in a loop: no Python between
    the kernels (a call from Python costs about as much as a small kernel)."""
    import tensorflow as tf

    def body(i, total):
        first = tf.reshape(call(), [-1])[0]  # each round's result is used: none is pruned
        return i + 1, total + tf.cast(first, tf.float32)

    return tf.function(
        lambda: tf.while_loop(lambda i, _: i < times, body, (tf.constant(0), tf.constant(0.0)))[1]
    )


def _floor(title: str, calls: dict, args) -> float:
    print(f"\n{title} (ms per kernel: min, median)")
    total = 0.0
    for name, call in calls.items():
        fastest, median = (
            ms / args.kernel_calls
            for ms in _timed(_repeated(call, args.kernel_calls), 1, args.repeats)
        )
        total += fastest
        print(f"  {name:<26}{fastest:7.3f} {median:7.3f}")
    print(f"  {'floor (sum of minima)':<26}{total:7.3f}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=["mlp", "lenet5"], default="lenet5")
    parser.add_argument("--steps", type=int, help="training steps per round (lenet5 50, mlp 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of each measurement")
    parser.add_argument("--kernel-calls", type=int, default=50, help="calls per kernel round")
    args = parser.parse_args()
    steps = args.steps or (50 if args.model == "lenet5" else 1000)

    from mnist_pipeline.training.threads import configure_for_shards

    # The thread pools training uses: one shard per core for the fused MLP.
    shards = 1
    if args.model == "mlp":
        shards = configure_for_shards(_config("mlp", "float32").hidden_units)
    import tensorflow as tf

    from mnist_pipeline.training.fused_steps import TrainingInputs

    data = PROJECT_ROOT / "data" / "05_model_input"
    x = np.load(data / "x_train.npy").astype(np.float32, copy=False)
    labels = np.argmax(np.load(data / "y_train.npy"), axis=1).astype(np.int32)
    # The MLP's products read the features that are non-zero somewhere in the training set.
    inputs = TrainingInputs.from_arrays(x, labels) if args.model == "mlp" else None

    floors = {}
    for dtype in (tf.float32, tf.bfloat16):
        if args.model == "lenet5":
            calls = lenet5_kernels(_config("lenet5", "float32"), dtype)
            title = f"{dtype.name} kernels of one LeNet-5 step"
        else:
            used = int(inputs.used_features.shape[0])
            calls = mlp_kernels(_config("mlp", "float32"), dtype, used, shards)
            title = f"{dtype.name} kernels of one MLP step, one of {shards} shards"
        floors[dtype.name] = _floor(title, calls, args)

    if args.model == "lenet5":
        runs = lenet5_steps(x, labels, steps)
        float32_name, mixed_name = "lenet5", "lenet5+bf16"
    else:
        runs = mlp_steps(inputs, x.shape[1], steps, shards)
        float32_name, mixed_name = "fused", "fused+bf16"
    print(f"\nwhole training steps, batch 100 (ms per step over {steps} steps: min, median)")
    step_ms = {}
    for name, run in runs.items():
        fastest, median = _timed(run, 1, args.repeats)
        step_ms[name] = fastest / steps
        print(f"  {name:<26}{fastest / steps:7.3f} {median / steps:7.3f}")

    float32_floor, bfloat16_floor = floors["float32"], floors["bfloat16"]
    float32_step, mixed_step = step_ms[float32_name], step_ms[mixed_name]
    print(f"\nkernels float32 / bfloat16: {float32_floor / bfloat16_floor:.2f}")
    print(
        f"speed-up {float32_name} / {mixed_name}: {float32_step / mixed_step:.2f}; "
        f"as nothing but its kernels, at most {float32_step / bfloat16_floor:.2f}"
    )
    if args.model == "lenet5":
        only_kernels_faster = float32_step - float32_floor + bfloat16_floor
        print(f"  with only the kernels faster, about {float32_step / only_kernels_faster:.2f}")
        keras = step_ms["keras-lenet5"]
        print(
            f"ratio lenet5 / keras-lenet5: {float32_step / keras:.2f}; "
            f"the float32 floor allows at best {float32_floor / keras:.2f}"
        )


if __name__ == "__main__":
    main()
