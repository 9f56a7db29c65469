"""Mutation check: one-line faults in the seed's math and data handling must fail tests.

Each row of :data:`MUTATIONS` changes one line of a temporary copy of the package (or of
its ``conf/``: a default as ``conf/base`` sets it) and runs the tests named for it against
that copy (it comes first on ``PYTHONPATH``; tests that read the configuration find it
beside the package, two folders up). A mutation is *killed* when those tests fail; one
that survives means the suite cannot see that fault, and this test fails with the table
of results.

The tests named here run in this process's interpreter. Tests that start ``kedro run``
in a temporary project copy ``src/`` from the repository, so they would run the
unmutated code: they are not named in the table. What only a ``kedro run`` used to
show (the default run's settings, evaluation points, data order, tested split) is shown
in process by ``tests/training/test_default_run.py``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow

PACKAGE = PROJECT_ROOT / "src" / "mnist_pipeline"
MLP_TESTS = "tests/training/test_mlp.py"
REFERENCE_TESTS = "tests/training/test_reference_step.py"
LENET5_TESTS = "tests/training/test_lenet5.py"
LOOP_TESTS = "tests/training/test_loop_against_the_seed.py"
DEFAULT_RUN = "tests/training/test_default_run.py"
REGISTER_TESTS = "tests/pipelines/test_register.py"
AUGMENTATION_TESTS = "tests/training/test_augmentation.py"
CONFIDENCE_TESTS = ("tests/pipelines/test_robustness.py", "tests/pipelines/test_inference.py")
MONITOR_TESTS = "tests/pipelines/test_monitor.py"


@dataclasses.dataclass(frozen=True)
class Mutation:
    """Replace ``original`` (exactly one occurrence) by ``mutant`` in ``module``: a path in
    the package, or in the project when it starts with ``conf/``."""

    fault: str
    module: str
    original: str
    mutant: str
    tests: tuple[str, ...]


MUTATIONS = (
    Mutation(
        "LeNet-5's L2 on the convolution weights instead of the fully connected ones",
        "training/lenet5.py",
        "fc1_weights, fc2_weights = self.weights[4], self.weights[6]",
        "fc1_weights, fc2_weights = self.weights[0], self.weights[2]",
        (
            f"{LENET5_TESTS}::test_l2_is_on_the_fully_connected_weights_only",
            f"{LENET5_TESTS}::test_one_step_matches_keras_layers_with_the_same_weights_and_numpy_updates",
        ),
    ),
    Mutation(
        "LeNet-5 validated with the raw weights instead of the averages",
        "training/lenet5.py",
        "predictions = tf.argmax(logits(x, self.averages), axis=1, output_type=tf.int32)",
        "predictions = tf.argmax(logits(x, self.weights), axis=1, output_type=tf.int32)",
        (f"{LENET5_TESTS}::test_accuracy_and_the_saved_model_use_the_averaged_weights",),
    ),
    Mutation(
        "LeNet-5's saved model with the raw weights instead of the averages",
        "training/lenet5.py",
        "model.set_weights([state[AVERAGE_PREFIX + name] for name in WEIGHT_NAMES])",
        "model.set_weights([state[name] for name in WEIGHT_NAMES])",
        (f"{LENET5_TESTS}::test_accuracy_and_the_saved_model_use_the_averaged_weights",),
    ),
    Mutation(
        "validation and test accuracy with the raw weights instead of the averages",
        "training/mlp.py",
        "chunk_logits = logits(x[start:stop], *self.averages)",
        "chunk_logits = logits(x[start:stop], *self.weights)",
        (f"{MLP_TESTS}::test_accuracy_uses_the_averaged_weights",),
    ),
    Mutation(
        "the evaluated and served model with the raw weights instead of the averages",
        "training/mlp.py",
        "model.set_weights([state[AVERAGE_PREFIX + name] for name in WEIGHT_NAMES])",
        "model.set_weights([state[name] for name in WEIGHT_NAMES])",
        (f"{MLP_TESTS}::test_keras_model_carries_the_averaged_weights",),
    ),
    Mutation(
        "L2 regularization rate ignored in the update",
        "training/fused_steps.py",
        "regularization = self.model.regularization_rate",
        "regularization = 0.0",
        (MLP_TESTS,),
    ),
    Mutation(
        "L2 as sum(w^2) instead of sum(w^2) / 2 (twice the decay)",
        "training/fused_update.py",
        "keep = 1.0 - rate * regularization_rate",
        "keep = 1.0 - 2.0 * rate * regularization_rate",
        (MLP_TESTS, "tests/training/test_fused_update.py"),
    ),
    Mutation(
        "L2 penalty in the reported loss as sum(w^2) instead of sum(w^2) / 2",
        "training/fused_steps.py",
        "penalty = model.regularization_rate * (tf.nn.l2_loss(weights1) + tf.nn.l2_loss(w",
        "penalty = 2 * model.regularization_rate * (tf.nn.l2_loss(weights1) + tf.nn.l2_loss(w",
        (f"{MLP_TESTS}::test_l2_term_is_half_the_sum_of_squares_of_the_weights_only",),
    ),
    Mutation(
        "the fused step's moving-average decay without num_updates",
        "training/schedules.py",
        "return np.minimum(decay, (1.0 + steps) / (10.0 + steps)).astype(np.float32)",
        "return np.full(steps.shape, decay, dtype=np.float32)",
        ("tests/training/test_schedules_and_batches.py",),
    ),
    Mutation(
        "the fused step's learning-rate exponent floored when staircase is false",
        "training/schedules.py",
        "    if staircase:\n        exponent = np.floor(exponent)",
        "    exponent = np.floor(exponent)",
        (
            f"{LOOP_TESTS}::test_the_loop_with_checkpoints_and_a_resume_ends_where_the_seed_does[mlp-fused]",
        ),
    ),
    Mutation(
        "the plain step without the L2 term in its gradient",
        "training/reference_step.py",
        "loss = cross_entropy + network.l2_penalty()",
        "loss = cross_entropy",
        (REFERENCE_TESTS,),
    ),
    Mutation(
        "the plain step's moving average (TensorFlow's) without num_updates",
        "training/averaged.py",
        "config.moving_average_decay, num_updates=self.global_step",
        "config.moving_average_decay",
        (REFERENCE_TESTS,),
    ),
    Mutation(
        "the plain step's learning rate (Keras') never on a staircase",
        "training/reference_step.py",
        "staircase=schedule.staircase,",
        "staircase=False,",
        (REFERENCE_TESTS,),
    ),
    Mutation(
        "the loop hands the fused step the schedule of step 0 at every evaluation point",
        "training/fused_steps.py",
        "first = int(self.model.global_step.numpy())",
        "first = 0",
        (
            f"{LOOP_TESTS}::test_the_loop_with_checkpoints_and_a_resume_ends_where_the_seed_does[mlp-fused]",
        ),
    ),
    Mutation(
        "the loop draws the batches of step 0 onwards at every evaluation point",
        "training/loop.py",
        "train_loss = trainer.train_steps(shuffler.batch_indices(step, point - step))",
        "train_loss = trainer.train_steps(shuffler.batch_indices(0, point - step))",
        (
            f"{LOOP_TESTS}::test_the_loop_with_checkpoints_and_a_resume_ends_where_the_seed_does[mlp-plain]",
        ),
    ),
    Mutation(
        "hidden biases initialised to 0 instead of init_bias",
        "training/mlp.py",
        '"biases1": tf.fill([hidden], tf.constant(config.init_bias, tf.float32)),',
        '"biases1": tf.zeros([hidden], tf.float32),',
        (f"{MLP_TESTS}::test_initial_weights_follow_the_seed_and_are_seeded",),
    ),
    Mutation(
        "the default run's rate decayed over 550 steps (one epoch) instead of the training set",
        "conf/base/parameters_train.yml",
        "  decay_steps: null",
        "  decay_steps: 550",
        (DEFAULT_RUN,),
    ),
    Mutation(
        "decay_steps null read as the batch size instead of the number of training examples",
        "training/schedules.py",
        "config.decay_steps or num_examples,",
        "config.decay_steps or config.batch_size,",
        (DEFAULT_RUN,),
    ),
    Mutation(
        "the default run validated every 500 steps instead of 1,000",
        "conf/base/parameters_train.yml",
        "  eval_every: 1000",
        "  eval_every: 500",
        (DEFAULT_RUN,),
    ),
    Mutation(
        "no validation point at the last step",
        "training/loop.py",
        "    return [*points, steps]",
        "    return points",
        (DEFAULT_RUN,),
    ),
    Mutation(
        "the default run's moving average decayed by 0.999 instead of 0.99",
        "conf/base/parameters_train.yml",
        "\n  moving_average_decay: 0.99\n",
        "\n  moving_average_decay: 0.999\n",
        (DEFAULT_RUN,),
    ),
    Mutation(
        "every epoch visits the examples in the first epoch's order",
        "training/batches.py",
        "rng = np.random.default_rng([self.seed, epoch])",
        "rng = np.random.default_rng([self.seed, 0])",
        (DEFAULT_RUN,),
    ),
    Mutation(
        "the training loop's test accuracy computed on the validation split",
        "pipelines/train/pipeline.py",
        '"x_test": "x_test",\n                "y_test": "y_test",',
        '"x_test": "x_val",\n                "y_test": "y_val",',
        (DEFAULT_RUN,),
    ),
    Mutation(
        "evaluate's figures computed on the validation split",
        "pipelines/evaluate/pipeline.py",
        'node(predict_logits, ["mnist_model", "x_test"]',
        'node(predict_logits, ["mnist_model", "x_val"]',
        ("tests/pipelines/test_evaluate.py::test_evaluate_pipeline_in_memory",),
    ),
    Mutation(
        "validation taken from the end of the training file",
        "pipelines/preprocess/nodes.py",
        "        features[validation_size:],\n        targets[validation_size:],\n"
        "        features[:validation_size],\n        targets[:validation_size],",
        "        features[:-validation_size],\n        targets[:-validation_size],\n"
        "        features[-validation_size:],\n        targets[-validation_size:],",
        ("tests/pipelines/test_preprocess.py",),
    ),
    Mutation(
        "pixels not scaled to [0, 1]",
        "pipelines/preprocess/nodes.py",
        "scale = np.float32(1.0 / np.iinfo(images.dtype).max)",
        "scale = np.float32(1.0)",
        ("tests/pipelines/test_preprocess.py",),
    ),
    Mutation(
        "labels one-hot encoded shifted by one",
        "pipelines/preprocess/nodes.py",
        "encoded[np.arange(len(labels)), labels.astype(np.int64)] = 1.0",
        "encoded[np.arange(len(labels)), (labels.astype(np.int64) + 1) % num_classes] = 1.0",
        ("tests/pipelines/test_preprocess.py",),
    ),
    Mutation(
        "a resumed checkpoint puts the raw weights into the averages",
        "datasets/resume_checkpoints_dataset.py",
        "tf.train.Checkpoint(model=model).read(prefix).assert_existing_objects_matched()",
        "tf.train.Checkpoint(model=model).read(prefix).assert_existing_objects_matched()"
        "; [s.assign(v) for s, v in zip(model.averages, model.weights)]",
        ("tests/training/test_checkpoints.py",),
    ),
    Mutation(
        "served images scaled by their own maximum instead of 255",
        "pipelines/inference/nodes.py",
        "return array.astype(np.uint8)",
        "return array.astype(np.int64)",
        ("tests/pipelines/test_inference.py",),
    ),
    Mutation(
        "the batches' distortions no longer depend on the step (the same draw every step)",
        "training/augmentation.py",
        "seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])",
        "seed = tf.stack([tf.constant(self.seed, tf.int64), tf.constant(0, tf.int64)])",
        (AUGMENTATION_TESTS,),
    ),
    Mutation(
        "the batches' distortions ignore the run's seed",
        "training/augmentation.py",
        "seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])",
        "seed = tf.stack([tf.constant(0, tf.int64), tf.cast(step, tf.int64)])",
        (AUGMENTATION_TESTS,),
    ),
    Mutation(
        "the served probabilities without the fitted temperature",
        "pipelines/inference/confidence.py",
        "        return softmax(logits, self.temperature)",
        "        return softmax(logits)",
        CONFIDENCE_TESTS,
    ),
    Mutation(
        "the threshold turned round: the most digit-like images rejected",
        "pipelines/inference/confidence.py",
        "return np.asarray(likeness) < self.threshold",
        "return np.asarray(likeness) > self.threshold",
        CONFIDENCE_TESTS,
    ),
    Mutation(
        "the gate ignores the shifted slice",
        "pipelines/register/nodes.py",
        "not candidate.shifted_accuracy + _EPSILON < floor,",
        "True,",
        (REGISTER_TESTS,),
    ),
    Mutation(
        "a worse version takes the champion alias",
        "pipelines/register/nodes.py",
        "candidate.accuracy + _EPSILON >= needed,",
        "True,",
        (REGISTER_TESTS,),
    ),
    Mutation(
        "the gate ignores min_gain (a tie or a lucky seed takes the alias)",
        "pipelines/register/nodes.py",
        "needed = champion.accuracy + criteria.min_gain",
        "needed = champion.accuracy",
        (REGISTER_TESTS,),
    ),
    Mutation(
        "the gate ignores the class recall floor",
        "pipelines/register/nodes.py",
        "candidate.class_recall[worst] + _EPSILON >= criteria.class_recall_floor,",
        "True,",
        (REGISTER_TESTS,),
    ),
    Mutation(
        "the gate scores the test split instead of the validation split",
        "pipelines/register/pipeline.py",
        '"challenger": "served_model",\n                "x_val": "x_val",\n'
        '                "y_val": "y_val",',
        '"challenger": "served_model",\n                "x_val": "x_test",\n'
        '                "y_val": "y_test",',
        (REGISTER_TESTS,),
    ),
    Mutation(
        "a served model that accepts a pixel of 300 passes the smoke test",
        "pipelines/register/nodes.py",
        "if not refusal or _REFUSAL not in refusal:",
        "if False:",
        (REGISTER_TESTS,),
    ),
    Mutation(
        "runs finishing together leave the alias on whichever wrote it last",
        "tracking/registry.py",
        "        _settle_champion(client)\n",
        "        pass\n",
        ("tests/test_registry.py",),
    ),
    Mutation(
        "the monitor compares the log with itself instead of the champion's reference",
        "pipelines/monitor/pipeline.py",
        '["monitored_records", "monitoring_reference", "params:monitor"]',
        '["monitored_records", "monitored_records", "params:monitor"]',
        (MONITOR_TESTS,),
    ),
    Mutation(
        "the monitor's features compared with the log's own values",
        "pipelines/monitor/nodes.py",
        "theirs = reference[name].to_numpy(np.float64)\n        rows.append(",
        "theirs = current[name].to_numpy(np.float64)\n        rows.append(",
        (MONITOR_TESTS,),
    ),
    Mutation(
        "dark digits on light paper not inverted for the model",
        "pipelines/inference/images.py",
        "if np.median(border) > 127.5:",
        "if False:",
        ("tests/pipelines/test_predict.py",),
    ),
    Mutation(
        "a user's digit not centred by its centre of mass",
        "pipelines/inference/images.py",
        "top = int(np.clip(round(middle - centre_row), 0, IMAGE_SIDE - height))",
        "top = 0",
        ("tests/pipelines/test_predict.py",),
    ),
)


def _run_mutant(mutation: Mutation, workdir: Path) -> subprocess.CompletedProcess:
    package = workdir / "src" / "mnist_pipeline"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / "conf" / "base", workdir / "conf" / "base")
    target = (
        workdir / mutation.module
        if mutation.module.startswith("conf/")
        else package / mutation.module
    )
    source = target.read_text()
    assert source.count(mutation.original) == 1, f"{mutation.module}: the original line moved"
    target.write_text(source.replace(mutation.original, mutation.mutant))
    env = {**os.environ, "PYTHONPATH": str(workdir / "src"), "KEDRO_DISABLE_TELEMETRY": "1"}
    probe = "import mnist_pipeline, sys; print(mnist_pipeline.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(workdir)), f"the mutant is not the package under test: {where}"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-n", "0", "-p", "no:cacheprovider"]
        + list(mutation.tests),
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_every_mutation_of_the_seed_math_is_killed(tmp_path, capsys):
    rows, survivors = [], []
    for number, mutation in enumerate(MUTATIONS, 1):
        started = time.monotonic()
        result = _run_mutant(mutation, tmp_path / f"mutant-{number}")
        seconds = time.monotonic() - started
        # pytest exits 1 when tests fail; any other code (errors, nothing collected)
        # would not show that the tests can see the fault.
        killed = result.returncode == 1
        rows.append(f"{'killed  ' if killed else 'SURVIVED'}  {seconds:5.1f} s  {mutation.fault}")
        if not killed:
            survivors.append(
                f"{mutation.fault} (exit {result.returncode}):\n"
                f"{result.stdout[-1500:]}{result.stderr[-1500:]}"
            )
    with capsys.disabled():
        print("\nMutation check:\n  " + "\n  ".join(rows))
    assert not survivors, "\n\n".join(survivors)
