"""Mutation check: data, serving, registry and monitoring (preprocess's splits and scaling,
a resumed checkpoint, served images and probabilities, the gate, the champion alias, the
monitor's reference, a user's images).

See :mod:`tests.mutations.mutants`.
"""

from __future__ import annotations

import pytest

from .mutants import CONFIDENCE_TESTS, MONITOR_TESTS, REGISTER_TESTS, Mutation, assert_killed

pytestmark = pytest.mark.slow

MUTATIONS = (
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


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.fault)
def test_the_fault_fails_the_tests_named_for_it(mutation: Mutation, tmp_path) -> None:
    assert_killed(mutation, tmp_path)
