"""Drive training: evaluation points, progress lines in the seed's words, the history.

:func:`train` runs the steps of either implementation to each evaluation point,
validates the averaged network there, logs and checkpoints, and (given the test set)
ends with the seed's last line, the test accuracy.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf

from mnist_pipeline.parameters import TrainParameters

from .augmentation import Augmentation
from .averaged import AveragedNetwork
from .batches import EpochShuffler
from .checkpoints import training_fingerprint
from .fused_steps import FusedTrainer, TrainingInputs
from .lenet5 import AveragedLeNet5
from .mlp import AveragedMLP
from .precision import announce
from .reference_step import ReferenceTrainer
from .schedules import Schedule
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
    test_accuracy: float | None = None
    resumed: Any = None  #: where an interrupted run left off, if resumed


def evaluation_steps(steps: int, eval_every: int) -> list[int]:
    """Steps at which the averaged model is validated: 0, eval_every, ... and the last."""
    points = list(range(0, steps, eval_every))
    return [*points, steps]


def _class_ids(one_hot: np.ndarray) -> tf.Tensor:
    return tf.constant(np.argmax(one_hot, axis=1).astype(np.int32))


def _is_fused(config: TrainParameters) -> bool:
    return config.model == "mlp" and config.implementation == "fused"


def network(config: TrainParameters, num_inputs: int, num_classes: int) -> AveragedNetwork:
    """The network ``config.model`` names, initialised."""
    if config.model == "lenet5":
        return AveragedLeNet5(num_inputs, num_classes, config)
    return AveragedMLP(num_inputs, num_classes, config)


def _trainer(
    config: TrainParameters,
    model: AveragedNetwork,
    x_train: np.ndarray,
    y_train: np.ndarray,
    shards: int,
) -> FusedTrainer | ReferenceTrainer:
    """The computation of the training step: the fused MLP step, or the plain step; either
    distorts each batch as ``train.augmentation`` says."""
    schedule = Schedule.of(config, len(x_train))
    class_ids = np.argmax(y_train, axis=1)
    side = int(round(np.sqrt(x_train.shape[1])))
    augmentation = Augmentation(config.augmentation, side, config.seed)
    if _is_fused(config):
        inputs = TrainingInputs.from_arrays(x_train, class_ids, augmentation.enabled)
        return FusedTrainer(model, inputs, schedule, shards, augmentation)
    return ReferenceTrainer(model, x_train, class_ids, schedule, augmentation)


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


def _resume(checkpoints: Any, config: TrainParameters, model, fingerprint: dict) -> Any:
    """Where an interrupted run of these settings left off, restored into ``model``."""
    if not config.resume:
        if checkpoints.directory.exists():
            checkpoints.set_aside("train.resume is false")
        return None
    return checkpoints.restore(model, fingerprint, config.steps)


def train(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainParameters,
    checkpoints: Any = None,
    log_metrics: Callable[[int, Mapping[str, float]], None] | None = None,
    test_set: tuple[np.ndarray, np.ndarray] | None = None,
) -> TrainingResult:
    """Train the averaged network as the seed does and return its final state and history.

    ``y_*`` are one-hot. With ``checkpoints``, the state is saved at every evaluation step
    and a run resumes from the newest matching checkpoint (unless ``config.resume`` is
    false). Batches, learning rates and moving-average decays depend only on the step and
    the seed, so a resumed run ends with exactly the metrics of an uninterrupted one.

    ``log_metrics(step, {column: value})`` receives every history row as soon as it is
    known (the rows restored from a checkpoint first), so a tracker shows the curve grow;
    an exception it raises (a search pruning the run) ends training there. ``test_set``
    (``x_test, y_test``) is scored once, at the end; without it training never sees it.
    """
    announce(config.precision)
    # The MLP's fused step runs one shard of hidden units per core on single-threaded ops
    # (:mod:`.threads`), set before TensorFlow's first op; the plain step leaves
    # TensorFlow's thread pools as they are.
    shards = configure_for_shards(config.hidden_units) if _is_fused(config) else 1
    tf.config.experimental.enable_op_determinism()
    model = network(config, x_train.shape[1], y_train.shape[1])
    trainer = _trainer(config, model, x_train, y_train, shards)
    shuffler = EpochShuffler(len(x_train), config.batch_size, config.seed)
    x_val_t, val_labels = tf.constant(x_val, tf.float32), _class_ids(y_val)

    rows: list[tuple] = []
    step, train_loss, resumed, restored = 0, float("nan"), None, []
    if checkpoints is not None:
        fingerprint = training_fingerprint(config, x_train, y_train, x_val, y_val)
        resumed = _resume(checkpoints, config, model, fingerprint)
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
            train_loss = trainer.train_steps(shuffler.batch_indices(step, point - step))
            step = point
        accuracy = float(model.averaged_accuracy(x_val_t, val_labels, shards))
        record((step, accuracy, train_loss, trainer.learning_rate(step)))
        logger.info(
            "After %d training step(s), validation accuracy using average model is %g %s",
            step,
            accuracy,
            progress.line(step),
        )
        if checkpoints is not None and 0 < step < config.steps:
            checkpoints.save(model, step, rows, fingerprint)

    test_accuracy = None
    if test_set is not None:
        x_test, y_test = test_set
        test_accuracy = float(
            model.averaged_accuracy(tf.constant(x_test, tf.float32), _class_ids(y_test), shards)
        )
        logger.info(
            "After %d training step(s), test accuracy using average model is %g",
            step,
            test_accuracy,
        )
    history = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    if checkpoints is not None:
        checkpoints.clear()
    return TrainingResult(model.state(), history, test_accuracy, resumed)
