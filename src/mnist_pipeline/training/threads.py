"""Lay out TensorFlow's threads for training: one shard of hidden units per core.

The training step is a chain of dependent ops, most of them small (100 x 500 or less).
Split over all cores, each small op costs more in hand-offs than it saves, and while it
runs the other cores wait. :class:`.fused_steps.FusedTrainer` can instead split the
hidden units into shards whose ops are independent of each other; with one inter-op
thread per shard and single-threaded ops, the cores each run a shard, side by side.
"""

from __future__ import annotations

import dataclasses
import logging
import os

logger = logging.getLogger(__name__)

#: Beyond this many cores, the extra cores become intra-op threads of each shard rather
#: than more, thinner shards. Only the 2-core layout has been measured.
MAX_SHARDS = 4


@dataclasses.dataclass(frozen=True)
class ThreadPlan:
    """How many shards of hidden units, and TensorFlow's two thread-pool sizes."""

    shards: int
    inter_op_threads: int
    intra_op_threads: int


def available_cores() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def plan_threads(cores: int, hidden_units: int) -> ThreadPlan:
    """One shard per core (at most :data:`MAX_SHARDS` and ``hidden_units``), one
    inter-op thread per shard, the cores shared out among the shards' ops."""
    shards = max(1, min(cores, MAX_SHARDS, hidden_units))
    return ThreadPlan(shards, shards, max(1, cores // shards))


def configure_for_shards(hidden_units: int) -> int:
    """Set TensorFlow's thread pools by :func:`plan_threads`; return the shard count.

    TensorFlow accepts pool sizes only before its runtime starts (the first op of the
    process); after that they are left as they are, which is slower but gives the same
    results. The sizes hold for the whole process: nodes that run after training in the
    same ``kedro run`` (evaluation) also get single-threaded ops on a 2-core machine.
    """
    import tensorflow as tf  # noqa: PLC0415 (the plan above is testable without it)

    plan = plan_threads(available_cores(), hidden_units)
    try:
        tf.config.threading.set_inter_op_parallelism_threads(plan.inter_op_threads)
        tf.config.threading.set_intra_op_parallelism_threads(plan.intra_op_threads)
    except RuntimeError:
        logger.info(
            "Training in %d shards of hidden units; TensorFlow had already started, so "
            "its thread pools stay as they were (inter-op %d, intra-op %d; 0 = all cores)",
            plan.shards,
            tf.config.threading.get_inter_op_parallelism_threads(),
            tf.config.threading.get_intra_op_parallelism_threads(),
        )
    else:
        logger.info(
            "Training in %d shards of hidden units, on %d inter-op threads of %d intra-op "
            "thread(s) each",
            plan.shards,
            plan.inter_op_threads,
            plan.intra_op_threads,
        )
    return plan.shards
