"""The thread layout for training in shards of hidden units."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mnist_pipeline.training.threads import MAX_SHARDS, ThreadPlan, plan_threads


@pytest.mark.parametrize(
    ("cores", "hidden_units", "expected"),
    [
        (1, 500, ThreadPlan(shards=1, inter_op_threads=1, intra_op_threads=1)),
        (2, 500, ThreadPlan(shards=2, inter_op_threads=2, intra_op_threads=1)),
        (3, 500, ThreadPlan(shards=3, inter_op_threads=3, intra_op_threads=1)),
        (16, 500, ThreadPlan(shards=MAX_SHARDS, inter_op_threads=MAX_SHARDS, intra_op_threads=4)),
        (8, 2, ThreadPlan(shards=2, inter_op_threads=2, intra_op_threads=4)),
    ],
)
def test_one_shard_per_core_up_to_the_limit_and_the_hidden_units(cores, hidden_units, expected):
    assert plan_threads(cores, hidden_units) == expected


@pytest.mark.slow  # a fresh process that imports TensorFlow
def test_the_plan_takes_effect_when_tensorflow_has_not_started():
    script = """
import json
import tensorflow as tf
from mnist_pipeline.training.threads import available_cores, configure_for_shards, plan_threads
shards = configure_for_shards(500)
tf.constant(1.0) + 1.0  # starts the runtime
print(json.dumps({
    "shards": shards,
    "plan": plan_threads(available_cores(), 500).__dict__,
    "inter": tf.config.threading.get_inter_op_parallelism_threads(),
    "intra": tf.config.threading.get_intra_op_parallelism_threads(),
    "again": configure_for_shards(500),  # too late now: must not raise
}))
"""
    output = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    seen = json.loads(output.strip().splitlines()[-1])
    plan = seen["plan"]
    assert seen["shards"] == seen["again"] == plan["shards"]
    assert (seen["inter"], seen["intra"]) == (plan["inter_op_threads"], plan["intra_op_threads"])
