"""``inference``: what the served model checks and answers, on an in-memory catalog."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.runner import SequentialRunner
from mlflow.exceptions import MlflowException

from mnist_pipeline.pipelines import inference
from mnist_pipeline.pipelines.inference.nodes import (
    PREDICTION_COLUMNS,
    InvalidImagesError,
    check_digit_images,
    predictions_table,
)

from ..conftest import in_memory_catalog


def _images(count: int = 2, dtype=np.uint8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, 28, 28)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float64, np.float32])
def test_whole_pixel_values_of_any_numeric_type_become_uint8(dtype):
    images = _images(3, dtype)
    checked = check_digit_images(images)
    assert checked.dtype == np.uint8
    np.testing.assert_array_equal(checked, images.astype(np.uint8))


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((2, 28, 27)), "Expected images of shape (N, 28, 28)"),
        (np.zeros((28, 28)), "got shape (28, 28)"),
        (np.zeros((0, 28, 28)), "No images given"),
        (np.full((1, 28, 28), 256.0), "must lie in 0..255 (white digit on black); image 0 has 256"),
        (np.full((1, 28, 28), -1), "image 0 has -1 at row 0, column 0"),
        (np.full((1, 28, 28), np.nan), "must lie in 0..255"),
        (np.full((1, 28, 28), 12.5), "must be whole numbers 0..255; image 0 has 12.5"),
        (np.full((1, 28, 28), "7"), "must be numbers 0..255"),
    ],
    ids=["width", "one-image-unbatched", "none", "above", "negative", "nan", "fraction", "text"],
)
def test_bad_images_are_refused_with_a_message_saying_what_is_wrong(images, message):
    with pytest.raises(InvalidImagesError) as raised:
        check_digit_images(images)
    assert message in str(raised.value)


def test_the_error_is_one_the_scoring_server_answers_with_400():
    error = InvalidImagesError("bad")
    assert isinstance(error, MlflowException)
    assert error.get_http_status_code() == 400


def test_predictions_table_gives_digit_its_probability_and_all_ten():
    logits = np.array([[0.0] * 9 + [5.0], [3.0, 1.0] + [0.0] * 8], dtype=np.float32)
    table = predictions_table(logits)
    assert list(table.columns) == PREDICTION_COLUMNS
    assert table["digit"].tolist() == [9, 0]
    probabilities = table[[f"p{d}" for d in range(10)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert table["probability"].tolist() == [probabilities[0, 9], probabilities[1, 0]]
    expected = np.exp(5.0) / (np.exp(5.0) + 9)
    assert table.loc[0, "p9"] == pytest.approx(expected)


class _LinearModel:
    """Stands in for the Keras model: logits = pixels @ weights."""

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    def __call__(self, features, training=False):
        return features @ self.weights


def test_inference_pipeline_scales_pixels_and_predicts_on_an_in_memory_catalog():
    pipeline = inference.create_pipeline()
    assert pipeline.inputs() == {inference.INPUT_NAME, "mnist_model"}
    assert pipeline.outputs() == {"digit_predictions"}
    weights = np.zeros((784, 10), np.float32)
    weights[0, 3] = 10.0  # the first pixel votes for 3, scaled to [0, 1]
    images = np.zeros((2, 28, 28), np.float64)
    images[0, 0, 0] = 255.0
    catalog = in_memory_catalog(
        {inference.INPUT_NAME: images, "mnist_model": _LinearModel(weights)}, pipeline.all_outputs()
    )
    SequentialRunner().run(pipeline, catalog)
    table = catalog.load("digit_predictions")
    assert table["digit"].tolist() == [3, 0]
    assert table.loc[0, "p3"] == pytest.approx(np.exp(10) / (np.exp(10) + 9))
    assert table.loc[1, "probability"] == pytest.approx(0.1)


def test_the_served_models_runner_mutes_kedros_per_node_lines(caplog):
    import logging

    from kedro.pipeline import node, pipeline

    from mnist_pipeline.tracking.model import kedro_pipeline_model_kwargs

    runner = kedro_pipeline_model_kwargs()["runner"]
    assert type(runner).__name__ == "SequentialRunner"  # kedro-mlflow picks it by name
    tiny = pipeline([node(lambda x: x + 1, "a", "b", name="add_one")])
    kedro_logger = logging.getLogger("kedro")
    level = kedro_logger.level
    with caplog.at_level(logging.INFO):
        runner.run(tiny, in_memory_catalog({"a": 1}, ["b"]))
    assert not [
        r for r in caplog.records if r.name.startswith("kedro") and r.levelno < logging.WARNING
    ]
    assert kedro_logger.level == level  # restored after the run
