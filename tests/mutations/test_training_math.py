"""Mutation check: the training math (LeNet-5's and the MLP's L2 and moving averages, the
fused and plain steps against the seed, the learning-rate schedule, the loop's evaluation
points).

See :mod:`tests.mutations.mutants`.
"""

from __future__ import annotations

import pytest

from .mutants import LENET5_TESTS, LOOP_TESTS, MLP_TESTS, REFERENCE_TESTS, Mutation, assert_killed

pytestmark = pytest.mark.slow

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
)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.fault)
def test_the_fault_fails_the_tests_named_for_it(mutation: Mutation, tmp_path) -> None:
    assert_killed(mutation, tmp_path)
