"""How fast does the project train, against the seed's own TF1-style loop?

Mode ``training`` (default) runs, on the same preprocessed data and for the same number of
steps, the seed's loop (``seed_reference.py``, labelled ``seed-tf1``) and the project's
training (the very ``mnist_pipeline.training.loop.train`` that ``kedro run`` calls, with
the parameters of ``conf/base/parameters_train.yml``) with each step implementation given
by ``--implementations`` (``fused``, the default, and/or ``reference``: the plain step),
several times in alternation. Each run is a fresh process, so none inherits another's
TensorFlow state; the time is the training call alone (graph building, evaluations and
test included; TensorFlow import and data loading excluded). Printed per implementation:
steps/s, wall seconds (median, min, max), test accuracy, peak resident memory; then each
project implementation's ratio to ``seed-tf1``.

Repeat ``k`` of both implementations trains with seed ``seeds[k]`` (default 0, 1, 2, ...:
the initial weights and the shuffles; the reference draws them from the same seeded
sources). One seed's test accuracy moves by about +-0.001 with any change in float
rounding, so the accuracies are compared as a mean over the seeds, pair by pair.

With ``--model lenet5``, the project's LeNet-5 (``train.model: lenet5`` and its settings)
runs beside the same network written plainly in Keras (``keras-lenet5``: layers, L2 on the
dense kernels, dropout, ``model.fit`` with the same batches per step, SGD at the same
decayed rate, Keras' own moving average of the weights), and the ratio is to that.

With ``--precision mixed_bfloat16``, the chosen model (the fused MLP, or LeNet-5 with
``--model lenet5``) runs in float32 and in mixed precision (``train.precision``), and the
ratio is mixed to float32.

With ``--augmentation``, the chosen model (the fused MLP, or LeNet-5 with ``--model
lenet5``) runs plain and with every batch distorted as ``conf/robust`` distorts it
(``train.augmentation``), and the ratio is augmented to plain: what robustness costs.

Mode ``kedro-run`` times the whole ``kedro run`` (``--kedro-args`` for its arguments, e.g.
``--pipeline=train``) from a cold start, a new process each time, beside the seed's loop as
a whole process too (TensorFlow import, data loading, training, test), alternating; it
prints both, their peak resident memory and the ratio.

Run from the project root after ``kedro run --pipeline=ingest,preprocess`` (or a full run):

    python benchmarks/train_speed.py                 # 20,000 steps, 3 runs each
    python benchmarks/train_speed.py --steps 2000 --repeats 2
    python benchmarks/train_speed.py --seeds 0 0 0     # the same seed every time
    python benchmarks/train_speed.py --implementations fused reference
    python benchmarks/train_speed.py --model lenet5 --steps 6000
    python benchmarks/train_speed.py --precision mixed_bfloat16 [--model lenet5]
    python benchmarks/train_speed.py --augmentation [--model lenet5]
    python benchmarks/train_speed.py --mode kedro-run --repeats 3
    python benchmarks/train_speed.py --mode kedro-run --kedro-args=--pipeline=train
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


SEED_LOOP = "seed-tf1"
KERAS_LENET5 = "keras-lenet5"
#: Suffix of a run in mixed precision (``fused+bf16``, ``lenet5+bf16``).
MIXED = "+bf16"
#: Suffix of a run on distorted batches (``fused+aug``, ``lenet5+aug``).
AUGMENTED = "+aug"


def keras_lenet5(config, train_size: int):
    """The book's LeNet-5 in plain Keras, compiled to train as the project's does: L2 on
    the dense kernels, dropout, SGD at the same decayed rate, Keras' own moving average."""
    import keras

    keras.utils.set_random_seed(config.seed)
    dense_l2 = keras.regularizers.L2(config.regularization_rate / 2)  # Keras: l2 * sum(w^2)
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(
                config.conv1_filters, config.kernel_size, padding="same", activation="relu"
            ),
            keras.layers.MaxPooling2D(2, padding="same"),
            keras.layers.Conv2D(
                config.conv2_filters, config.kernel_size, padding="same", activation="relu"
            ),
            keras.layers.MaxPooling2D(2, padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(config.fc_units, activation="relu", kernel_regularizer=dense_l2),
            keras.layers.Dropout(config.dropout_rate),
            keras.layers.Dense(10, kernel_regularizer=dense_l2),
        ]
    )
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate_base,
        config.decay_steps or train_size,
        config.learning_rate_decay,
        staircase=config.staircase,
    )
    optimizer = keras.optimizers.SGD(
        schedule, use_ema=True, ema_momentum=config.moving_average_decay
    )
    model.compile(
        optimizer,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _keras_lenet5(data: dict, config) -> tuple[float, float]:
    """:func:`keras_lenet5` trained with ``model.fit``: (seconds, test accuracy)."""
    import numpy as np
    import tensorflow as tf

    model = keras_lenet5(config, len(data["x_train"]))
    labels = np.argmax(data["y_train"], axis=1)
    batches = (
        tf.data.Dataset.from_tensor_slices((data["x_train"], labels))
        .shuffle(len(labels), seed=config.seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(config.batch_size)
    )
    start = time.perf_counter()
    model.fit(batches, epochs=1, steps_per_epoch=config.steps, verbose=0)
    _, accuracy = model.evaluate(
        data["x_test"], np.argmax(data["y_test"], axis=1), batch_size=1000, verbose=0
    )
    return time.perf_counter() - start, float(accuracy)


def _child(implementation: str, steps: int, seed: int) -> None:
    """Train once in this process and print one JSON line of figures."""
    augmented = implementation.endswith(AUGMENTED)
    implementation = implementation.removesuffix(AUGMENTED)
    precision = "mixed_bfloat16" if implementation.endswith(MIXED) else "float32"
    implementation = implementation.removesuffix(MIXED)
    import numpy as np
    import yaml

    sys.path.insert(0, str(Path(__file__).parent))
    from mnist_pipeline.parameters import train_parameters

    data = {
        name: np.load(PROJECT_ROOT / "data" / "05_model_input" / f"{name}.npy") for name in SPLITS
    }
    params = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_train.yml").read_text())["train"]
    overrides = {"steps": steps, "seed": seed, "precision": precision}
    if implementation in ("lenet5", KERAS_LENET5):
        overrides = {
            "model": "lenet5",
            "seed": seed,
            "precision": precision,
            "lenet5": {**params["lenet5"], "steps": steps},
        }
    elif implementation != SEED_LOOP:
        overrides["implementation"] = implementation
    if augmented:
        robust = (PROJECT_ROOT / "conf/robust/parameters_train.yml").read_text()
        overrides["augmentation"] = yaml.safe_load(robust)["train"]["augmentation"]
    config = train_parameters({**params, **overrides})
    quiet = lambda *args, **kwargs: None  # noqa: E731
    if implementation == SEED_LOOP:
        from seed_reference import train_reference

        result = train_reference(**data, config=config, log=quiet)
        seconds, accuracy = result["seconds"], result["test_accuracy"]
    elif implementation == KERAS_LENET5:
        seconds, accuracy = _keras_lenet5(data, config)
    else:
        import tensorflow  # noqa: F401 (import cost excluded, as for the reference)

        from mnist_pipeline.training.loop import train

        start = time.perf_counter()
        test_set = (data.pop("x_test"), data.pop("y_test"))
        result = train(**data, config=config, test_set=test_set)
        seconds, accuracy = time.perf_counter() - start, result.test_accuracy
    print(
        json.dumps({"seconds": seconds, "test_accuracy": accuracy, "peak_rss_mb": _peak_rss_mb()})
    )


def _run_child(implementation: str, steps: int, seed: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        implementation,
        "--steps",
        str(steps),
        "--seeds",
        str(seed),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def _summary(name: str, runs: list[dict], steps: int | None) -> str:
    seconds = [r["seconds"] for r in runs]
    median = statistics.median(seconds)
    parts = [f"{name:<12}"]
    if steps:
        parts.append(f"{steps / median:7.0f} steps/s")
    parts.append(f"wall s median {median:7.2f}  min {min(seconds):7.2f}  max {max(seconds):7.2f}")
    if "test_accuracy" in runs[0]:
        accuracies = [r["test_accuracy"] for r in runs]
        parts.append(
            f"test acc mean {statistics.mean(accuracies):.4f} "
            f"({', '.join(f'{a:.4f}' for a in accuracies)})"
        )
    parts.append(f"peak RSS {max(r['peak_rss_mb'] for r in runs):6.0f} MB")
    return "  ".join(parts)


def benchmark_training(
    steps: int, seeds: list[int], implementations: list[str], reference: str = SEED_LOOP
) -> None:
    """Alternate the reference (the seed's loop, or plain Keras for LeNet-5) and each
    implementation, once per seed; print figures and each one's ratios to the reference."""
    names = [reference, *implementations]
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for repeat, seed in enumerate(seeds):
        for name in names:
            result = _run_child(name, steps, seed)
            runs[name].append(result)
            print(
                f"  run {repeat + 1}/{len(seeds)} seed {seed} {name:<9} "
                f"{result['seconds']:7.2f} s  test acc {result['test_accuracy']:.4f}",
                flush=True,
            )
    print(
        f"\n{steps} training steps, {len(seeds)} runs each (seeds {', '.join(map(str, seeds))}), "
        "alternating, one process per run"
    )
    for name, results in runs.items():
        print(_summary(name, results, steps))
    seed_loop = [r["seconds"] for r in runs[reference]]
    for name in implementations:
        project = [r["seconds"] for r in runs[name]]
        median_ratio = statistics.median(project) / statistics.median(seed_loop)
        print(
            f"ratio {name}/{reference}: median {median_ratio:.3f}"
            f"  min {min(project) / min(seed_loop):.3f}"
        )
        gain = [
            p["test_accuracy"] - r["test_accuracy"]
            for p, r in zip(runs[name], runs[reference], strict=True)
        ]
        print(
            f"test accuracy {name} - {reference}, same seed: mean {statistics.mean(gain):+.4f} "
            f"({', '.join(f'{g:+.4f}' for g in gain)})"
        )


def _timed_process(command: list[str], env: dict) -> dict:
    """Run ``command`` from the project root; its wall seconds and peak resident memory."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


def benchmark_kedro_run(repeats: int, kedro_args: list[str], steps: int) -> None:
    """Time whole cold ``kedro run``s beside the seed's loop as a whole process
    (TensorFlow import, data loading, ``steps`` steps, the test), alternating."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    commands = {
        "kedro run": [sys.executable, "-m", "kedro", "run", *kedro_args],
        SEED_LOOP: [sys.executable, __file__, "--child", SEED_LOOP, "--steps", str(steps)],
    }
    runs = {name: [] for name in commands}
    for repeat in range(repeats):
        for name, command in commands.items():
            runs[name].append(_timed_process(command, env))
            print(
                f"  {name} {repeat + 1}/{repeats}: {runs[name][-1]['seconds']:.1f} s, "
                f"peak RSS {runs[name][-1]['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    print(
        f"\ncold `kedro run {' '.join(kedro_args)}` and the seed's loop as a process "
        f"({steps} steps), {repeats} runs each"
    )
    for name, timed in runs.items():
        print(_summary(name, timed, None))
    medians = {name: statistics.median(r["seconds"] for r in timed) for name, timed in runs.items()}
    print(f"ratio kedro run / {SEED_LOOP} process: {medians['kedro run'] / medians[SEED_LOOP]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["training", "kedro-run"], default="training")
    parser.add_argument("--steps", type=int, default=20_000, help="training steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per implementation")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help="the seed of each repeat (default 0, 1, ..., repeats - 1); sets the repeats",
    )
    parser.add_argument("--kedro-args", nargs="*", default=[], help="extra `kedro run` arguments")
    parser.add_argument(
        "--implementations",
        nargs="+",
        choices=["fused", "reference"],
        default=["fused"],
        help="the project's step implementations to time (train.implementation)",
    )
    parser.add_argument(
        "--model",
        choices=["mlp", "lenet5"],
        default="mlp",
        help="lenet5: the project's LeNet-5 against the same network in plain Keras",
    )
    parser.add_argument(
        "--precision",
        choices=["mixed_bfloat16"],
        help="time the model in mixed precision beside float32 (train.precision)",
    )
    parser.add_argument(
        "--augmentation",
        action="store_true",
        help="time the model on batches distorted as conf/robust does, beside it plain",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    seeds = args.seeds if args.seeds else list(range(args.repeats))
    if args.child:
        _child(args.child, args.steps, seeds[0])
    elif args.mode == "training" and args.augmentation:
        name = "lenet5" if args.model == "lenet5" else args.implementations[0]
        benchmark_training(args.steps, seeds, [name + AUGMENTED], reference=name)
    elif args.mode == "training" and args.precision:
        name = "lenet5" if args.model == "lenet5" else args.implementations[0]
        benchmark_training(args.steps, seeds, [name + MIXED], reference=name)
    elif args.mode == "training" and args.model == "lenet5":
        benchmark_training(args.steps, seeds, ["lenet5"], reference=KERAS_LENET5)
    elif args.mode == "training":
        benchmark_training(args.steps, seeds, args.implementations)
    else:
        benchmark_kedro_run(args.repeats, args.kedro_args, args.steps)


if __name__ == "__main__":
    main()
