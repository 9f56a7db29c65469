"""``inference``: what the served model reads, checks and answers."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from mnist_pipeline.pipelines.inference.confidence import Confidence
from mnist_pipeline.pipelines.inference.nodes import (
    PREDICTION_COLUMNS,
    InvalidImagesError,
    check_digit_images,
    predictions_table,
    requested_images,
)
from mnist_pipeline.tracking.served_model import RefusedRequest


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


def test_the_served_models_refusal_is_one_the_scoring_server_answers_with_400():
    error = RefusedRequest("bad")
    assert isinstance(error, MlflowException)
    assert error.get_http_status_code() == 400


#: A confidence that keeps the logits' probabilities (T = 1) and turns nothing away.
TRUSTING = Confidence(1.0, np.linspace(0.0, 10.0, 1001), threshold=0.0)


def test_predictions_table_gives_digit_its_probability_and_all_ten():
    logits = np.array([[0.0] * 9 + [5.0], [3.0, 1.0] + [0.0] * 8], dtype=np.float32)
    table = predictions_table(logits, TRUSTING)
    assert list(table.columns) == PREDICTION_COLUMNS
    assert table["digit"].tolist() == [9, 0]
    assert not table["rejected"].any() and table["reason"].tolist() == ["", ""]
    probabilities = table[[f"p{d}" for d in range(10)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert table["probability"].tolist() == [probabilities[0, 9], probabilities[1, 0]]
    expected = np.exp(5.0) / (np.exp(5.0) + 9)
    assert table.loc[0, "p9"] == pytest.approx(expected)


def test_an_image_unlike_any_digit_has_no_digit_and_says_why():
    confidence = Confidence(2.0, np.linspace(0.0, 10.0, 1001), threshold=0.5)
    # Energy 2 * logsumexp(logits / 2): 20 (above every validation digit's) and 4.6.
    logits = np.array([[20.0] + [0.0] * 9, [0.0] * 10], dtype=np.float32)
    table = predictions_table(logits, confidence)
    assert table["rejected"].tolist() == [False, True]
    assert table.loc[0, "digit"] == 0 and pd.isna(table.loc[1, "digit"])
    assert table.loc[1, "reason"].startswith("not like any digit (digit-likeness 0.46")
    # Its ten (temperature-scaled) probabilities are still given.
    assert table.loc[1, "p0"] == pytest.approx(0.1)
    assert table.loc[0, "p0"] == pytest.approx(np.exp(10) / (np.exp(10) + 9))


class _LinearModel:
    """Stands in for the Keras model: logits = pixels @ weights."""

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    def __call__(self, features, training=False):
        return features @ self.weights


LIMITS = {"max_request_images": 5, "max_image_bytes": 20_000, "max_image_pixels": 200 * 200}
PREPARATION = {"box_size": 20, "ink_threshold": 0.2, "min_contrast": 40}


def _encoded(image: np.ndarray, file_format: str = "PNG") -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=file_format)
    return base64.b64encode(buffer.getvalue()).decode()


def _a_seven(side: int = 56, dark_on_light: bool = False) -> np.ndarray:
    """A thick 7 on a square field."""
    image = np.zeros((side, side), np.uint8)
    top, stem = side // 5, side // 10
    image[top : top + stem, side // 4 : 3 * side // 4] = 255
    for row in range(top, 4 * side // 5):
        column = 3 * side // 4 - (row - top) // 2
        image[row, column - stem : column] = 255
    return 255 - image if dark_on_light else image


def test_a_served_model_runs_the_inference_functions_in_order():
    """The served model: the request read, the pixels scaled by preprocess's node, the
    network, the table; encoded files get their names and errors."""
    from mnist_pipeline.tracking.served_model import DigitClassifier

    weights = np.zeros((784, 10), np.float32)
    weights[0, 3] = 10.0  # the first pixel votes for 3, scaled to [0, 1]
    model = DigitClassifier(PREPARATION, LIMITS, TRUSTING.as_dict())
    model._network = _LinearModel(weights)
    images = np.zeros((2, 28, 28), np.float64)
    images[0, 0, 0] = 255.0
    table = model.predict(None, images)
    assert list(table.columns) == PREDICTION_COLUMNS
    assert table["digit"].tolist() == [3, 0]
    assert table.loc[0, "p3"] == pytest.approx(np.exp(10) / (np.exp(10) + 9))
    assert table.loc[1, "probability"] == pytest.approx(0.1)
    files = pd.DataFrame(
        {
            "image": [_encoded(_a_seven()), base64.b64encode(b"not an image").decode()],
            "name": ["seven.png", "notes.txt"],
        }
    )
    answer = model.predict(None, files)
    assert list(answer.columns) == ["name", *PREDICTION_COLUMNS, "error"]
    assert answer["name"].tolist() == ["seven.png", "notes.txt"]
    assert answer.loc[0, "error"] == "" and not pd.isna(answer.loc[0, "digit"])
    assert "not a readable PNG, JPEG or BMP image" in answer.loc[1, "error"]
    assert pd.isna(answer.loc[1, "digit"])


@pytest.mark.parametrize("file_format", ["PNG", "JPEG", "BMP"])
@pytest.mark.parametrize("dark_on_light", [False, True])
def test_encoded_files_are_prepared_as_predict_prepares_them(file_format, dark_on_light):
    from PIL import Image

    from mnist_pipeline.pipelines.inference.images import mnist_like

    image = _a_seven(84, dark_on_light)
    text = _encoded(image, file_format)
    images, items = requested_images(np.asarray([text]), PREPARATION, LIMITS)
    decoded = Image.open(io.BytesIO(base64.b64decode(text)))
    np.testing.assert_array_equal(images[0], mnist_like(decoded, **PREPARATION))
    assert items["error"].tolist() == [""]
    data_url = f"data:image/{file_format.lower()};base64,{text}"
    again, _ = requested_images({"image": [data_url]}, PREPARATION, LIMITS)
    np.testing.assert_array_equal(again, images)


def test_an_image_without_ink_is_an_error_row_and_the_others_are_answered():
    blank = np.full((40, 40), 255, np.uint8)
    images, items = requested_images(
        np.asarray([_encoded(blank), _encoded(_a_seven())]), PREPARATION, LIMITS
    )
    assert len(images) == 1
    assert items["error"][0].startswith("no ink") and items["error"][1] == ""


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (np.asarray(["not base64!"] * 2), "Image 0 is not base64-encoded file bytes"),
        (
            pd.DataFrame({"image": ["aGVsbG8=", "%%%"], "name": ["a.png", "b.png"]}),
            "Image 1 ('b.png') is not base64-encoded file bytes",
        ),
        (np.asarray(["x" * 30_000]), "Image 0 is over 20,000 bytes (serving.max_image_bytes)"),
        (
            np.asarray([_encoded(np.zeros((300, 300), np.uint8))]),
            "Image 0 is 300x300 pixels, over 40,000",
        ),
        (np.asarray([_encoded(_a_seven())] * 6), "The request holds 6 images, over 5"),
        (
            np.array([np.zeros((28, 28)), "abc"], dtype=object),
            "Image 0 is not a base64 text (it is a",
        ),
        (pd.DataFrame({"pixels": [1]}), "A table of images needs an `image` column"),
    ],
    ids=[
        "undecodable",
        "undecodable-named",
        "too-many-bytes",
        "too-many-pixels",
        "too-many-images",
        "mixed",
        "no-image-column",
    ],
)
def test_requests_that_cannot_be_answered_name_the_item_and_why(request_, message):
    with pytest.raises(InvalidImagesError) as excinfo:
        requested_images(request_, PREPARATION, LIMITS)
    assert str(excinfo.value).startswith(message) or message in str(excinfo.value)


def test_the_400s_message_stays_its_own_when_mlflows_server_prefixes_the_request():
    error = RefusedRequest("Image 3 ('scan.png') is over 5,000,000 bytes")
    error.message = f"Failed to predict data '{'x' * 10_000}'. \nError: {error.message}"
    assert error.message.splitlines()[0] == "Image 3 ('scan.png') is over 5,000,000 bytes"


def test_the_served_model_logs_who_asked_and_leaves_out_the_projects_own_checks(tmp_path):
    """Every answer is a record of the prediction log, as its caller's (``server`` unless
    the caller says otherwise); the gate's own questions (``source=""``) are not."""
    from mnist_pipeline.monitoring.prediction_log import PredictionLog, read_prediction_log
    from mnist_pipeline.tracking.served_model import DigitClassifier

    weights = np.zeros((784, 10), np.float32)
    weights[0, 3] = 10.0
    model = DigitClassifier(PREPARATION, LIMITS, TRUSTING.as_dict())
    model._network = _LinearModel(weights)
    model._log = PredictionLog(str(tmp_path), flush_every=1)
    model._identity = {"name": "mnist_classifier", "run_id": "run-9"}
    images = np.zeros((2, 28, 28), np.float64)
    images[0, 0, 0] = 255.0
    model.predict(None, images)
    model.predict(None, images[:1], params={"source": "predict", "model_version": "4"})
    model.predict(None, images, params={"source": ""})
    files = pd.DataFrame({"image": [_encoded(_a_seven()), "bm90IGFuIGltYWdl"], "name": ["7", "x"]})
    model.predict(None, files, params={"source": "page", "model_version": "4"})
    records = read_prediction_log(str(tmp_path))
    assert records["source"].tolist() == ["server", "server", "predict", "page"]
    assert records["model_version"].tolist() == ["", "", "4", "4"]
    assert set(records["model_run_id"]) == {"run-9"}
    assert records["digit"].tolist()[:3] == [3, 0, 3]
    assert records["ink_mass"].tolist()[:3] == [1, 0, 1]  # the image the network received
    assert records["ink_mass"].iloc[3] > 20  # the readable file only, as prepared
