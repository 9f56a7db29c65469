"""Mutation check: the default run as ``conf/base`` sets it (its schedule, evaluation points
and moving average), the data order across epochs, the split its test accuracy is
computed on, and the augmented batches' draws.

See :mod:`tests.mutations.mutants`.
"""

from __future__ import annotations

import pytest

from .mutants import AUGMENTATION_TESTS, DEFAULT_RUN, Mutation, assert_killed

pytestmark = pytest.mark.slow

MUTATIONS = (
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
)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.fault)
def test_the_fault_fails_the_tests_named_for_it(mutation: Mutation, tmp_path) -> None:
    assert_killed(mutation, tmp_path)
