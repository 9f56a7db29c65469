"""Drive training: evaluation points, progress lines in the seed's words, the history."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import tensorflow as tf

from .batches import EpochShuffler
from .checkpoints import ResumeCheckpoints, Resumed, training_fingerprint
from .config import TrainingConfig
from .fused_steps import FusedTrainer, TrainingInputs
from .lenet5 import AveragedLeNet5, LeNet5Trainer
from .mlp import AveragedMLP
from .precision import announce
from .reference_step import ReferenceTrainer
from .schedules import ema_decays, learning_rates
from .threads import configure_for_shards

logger = logging.getLogger(__name__)

#: One row per evaluation point. ``train_loss``: mean cross-entropy of the batches since
#: the previous point plus the L2 penalty of the weights at this point (NaN at step 0);
#: ``learning_rate``: the rate the next step uses.
HISTORY_COLUMNS = ["step", "val_accuracy", "train_loss", "learning_rate"]


@dataclasses.dataclass
class TrainingResult:
    """What a training run produces."""

    state: dict[str, np.ndarray]
    history: pd.DataFrame
    test_accuracy: float
    resumed: Resumed | None = None


def evaluation_steps(steps: int, eval_every: int) -> list[int]:
    """Steps at which the averaged model is validated: 0, eval_every, ... and the last."""
    points = list(range(0, steps, eval_every))
    return [*points, steps]


def _class_ids(one_hot: np.ndarray) -> tf.Tensor:
    return tf.constant(np.argmax(one_hot, axis=1).astype(np.int32))


def _model(config: TrainingConfig, num_inputs: int, num_classes: int):
    """The network ``config.model`` names, initialised."""
    if config.model == "lenet5":
        return AveragedLeNet5(num_inputs, num_classes, config)
    return AveragedMLP(num_inputs, num_classes, config)


def _trainer(
    config: TrainingConfig,
    model: AveragedMLP | AveragedLeNet5,
    x_train: np.ndarray,
    y_train: np.ndarray,
    shards: int,
) -> FusedTrainer | ReferenceTrainer | LeNet5Trainer:
    """The computation of the training step: LeNet-5's, or the MLP's that
    ``config.implementation`` names."""
    class_ids = np.argmax(y_train, axis=1)
    if config.model == "lenet5":
        return LeNet5Trainer(model, x_train, class_ids)
    if config.implementation == "reference":
        return ReferenceTrainer(model, x_train, class_ids)
    return FusedTrainer(model, TrainingInputs.from_arrays(x_train, class_ids), shards)


class _Progress:
    """One log line per evaluation with rate and time left: readable in CI logs."""

    def __init__(self, total_steps: int, first_step: int = 0) -> None:
        self.total_steps = total_steps
        self.first_step = first_step
        self.start = time.perf_counter()

    def line(self, step: int) -> str:
        elapsed = time.perf_counter() - self.start
        rate = (step - self.first_step) / elapsed if elapsed > 0 else 0.0
        remaining = (self.total_steps - step) / rate if rate > 0 else float("nan")
        return (
            f"[{step}/{self.total_steps} steps, {100 * step / self.total_steps:.0f}%, "
            f"{rate:.0f} steps/s, {elapsed:.0f} s elapsed, ~{remaining:.0f} s left]"
        )


def train(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    config: TrainingConfig,
    checkpoints: ResumeCheckpoints | None = None,
    log_metrics: Callable[[int, Mapping[str, float]], None] | None = None,
) -> TrainingResult:
    """Train the averaged network as the seed does and return its final state and history.

    ``y_*`` are one-hot. The learning rate decays over ``config.decay_steps`` steps, or
    over the number of training examples when that is ``None`` (the seed's choice).

    With ``checkpoints``, the state is saved at every evaluation step and a run resumes
    from the newest matching checkpoint (unless ``config.resume`` is false). Batches,
    learning rates and EMA decays depend only on the step and the seed, so a resumed run
    ends with exactly the metrics of an uninterrupted one.

    ``log_metrics(step, {column: value})`` receives every history row as soon as it is
    known (the rows restored from a checkpoint first), so a tracker shows the curve grow.
    """
    config.check_against_data(len(x_train))
    announce(config.precision)
    # The MLP's fused step runs one shard of hidden units per core on single-threaded ops
    # (:mod:`.threads`), set before TensorFlow's first op; the other steps leave
    # TensorFlow's thread pools as they are, and evaluate in one part.
    fused = config.model == "mlp" and config.implementation == "fused"
    shards = configure_for_shards(config.hidden_units) if fused else 1
    tf.config.experimental.enable_op_determinism()
    model = _model(config, x_train.shape[1], y_train.shape[1])
    trainer = _trainer(config, model, x_train, y_train, shards)
    shuffler = EpochShuffler(len(x_train), config.batch_size, config.seed)
    decay_steps = config.decay_steps or len(x_train)

    x_val_t, val_labels = tf.constant(x_val, tf.float32), _class_ids(y_val)

    def lr_at(steps: np.ndarray) -> np.ndarray:
        return learning_rates(
            steps,
            config.learning_rate_base,
            config.learning_rate_decay,
            decay_steps,
            config.staircase,
        )

    rows: list[tuple] = []
    step, train_loss, resumed, restored = 0, float("nan"), None, []
    if checkpoints is not None:
        fingerprint = training_fingerprint(config, x_train, y_train, x_val, y_val)
        if not config.resume and checkpoints.directory.exists():
            checkpoints.set_aside("train.resume is false")
        if config.resume:
            resumed = checkpoints.restore(model, fingerprint, config.steps)
        if resumed is not None:
            step, restored = resumed.step, resumed.history

    def record(row: tuple) -> None:
        rows.append(row)
        if log_metrics is not None:
            log_metrics(row[0], dict(zip(HISTORY_COLUMNS[1:], row[1:], strict=True)))

    for row in restored:  # this run's history starts with the interrupted run's
        record(tuple(row))

    progress = _Progress(config.steps, first_step=step)
    for point in evaluation_steps(config.steps, config.eval_every):
        if point < step or (point == step and rows):
            continue  # done before the interruption
        if point > step:
            steps = np.arange(step, point)
            train_loss = trainer.train_steps(
                shuffler.batch_indices(step, point - step),
                lr_at(steps),
                ema_decays(steps, config.moving_average_decay),
            )
            step = point
        accuracy = float(model.averaged_accuracy(x_val_t, val_labels, shards))
        record((step, accuracy, train_loss, float(lr_at(np.array([step]))[0])))
        logger.info(
            "After %d training step(s), validation accuracy using average model is %g %s",
            step,
            accuracy,
            progress.line(step),
        )
        if checkpoints is not None and 0 < step < config.steps:
            checkpoints.save(model, step, rows, fingerprint)

    test_accuracy = float(
        model.averaged_accuracy(tf.constant(x_test, tf.float32), _class_ids(y_test), shards)
    )
    logger.info(
        "After %d training step(s), test accuracy using average model is %g", step, test_accuracy
    )
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    if checkpoints is not None:
        checkpoints.clear()
    return TrainingResult(model.state(), history, test_accuracy, resumed)
