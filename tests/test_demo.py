"""The drawing page's answers, without a browser: what it shows for a drawing, an upload,
an empty canvas, no champion, a registry that went away (the browser test is in
tests/e2e/test_serving_real_data.py)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from PIL import Image, ImageDraw

from mnist_pipeline.demo import Champion, read_image_file
from mnist_pipeline.demo.page import (
    CHOOSE_A_FILE,
    DRAW_A_DIGIT,
    ZOOM,
    answer_drawing,
    answer_upload,
)
from mnist_pipeline.pipelines.predict.nodes import prepare_digit_images

from .conftest import PROJECT_ROOT

PREPARATION = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_predict.yml").read_text())[
    "predict"
]
LIMITS = {"max_request_images": 10, "max_image_bytes": 100_000, "max_image_pixels": 1_000_000}


class _ServedModel:
    """The served model's surface the page uses; it reads every image as ``digit``, or
    turns it away as not a digit (``rejects``)."""

    def __init__(self, digit: int = 7, rejects: bool = False) -> None:
        self.digit, self.rejects = digit, rejects
        self.seen: list[np.ndarray] = []

    def unwrap_python_model(self):
        return SimpleNamespace(preparation=PREPARATION, limits=LIMITS)

    def predict(self, pixels: np.ndarray) -> pd.DataFrame:
        self.seen.append(pixels)
        p = np.full((len(pixels), 10), 0.01)
        p[:, self.digit] = 0.91
        reason = "not like any digit (digit-likeness 0.0004 < 0.0100)" if self.rejects else ""
        return pd.DataFrame(
            {
                "digit": pd.array([None if self.rejects else self.digit] * len(pixels), "Int64"),
                "probability": 0.91,
                **{f"p{d}": p[:, d] for d in range(10)},
                "digit_likeness": 0.0004 if self.rejects else 0.5,
                "rejected": self.rejects,
                "reason": reason,
            }
        )


class _Registry:
    """The alias lookups the page makes; ``version`` None: no champion; an exception: down."""

    tracking_uri = "sqlite:///mlflow.db"

    def __init__(self, version: int | None | Exception = 3) -> None:
        self.version = version

    def get_model_version_by_alias(self, name: str, alias: str):
        if isinstance(self.version, Exception):
            raise self.version
        if self.version is None:
            raise MlflowException("alias not found", error_code=INVALID_PARAMETER_VALUE)
        return SimpleNamespace(
            version=self.version, tags={"architecture": "mlp", "val_accuracy": "0.984400"}
        )


@pytest.fixture
def champion(monkeypatch):
    loads = []

    def load(version: str):
        loads.append(version)
        return _ServedModel()

    monkeypatch.setattr(Champion, "_load", staticmethod(load))
    registry = _Registry()
    page_champion = Champion(registry)
    page_champion.loads, page_champion.registry = loads, registry
    return page_champion


def _seven(size: int = 280, mode: str = "RGBA") -> Image.Image:
    """Black strokes of a 7 on a transparent canvas, as the sketchpad gives them."""
    image = Image.new(mode, (size, size), (0, 0, 0, 0) if mode == "RGBA" else "white")
    ImageDraw.Draw(image).line(
        [(60, 50), (220, 50), (120, 240)],
        fill=(0, 0, 0, 255) if mode == "RGBA" else "black",
        width=22,
    )
    return image


def _drawing(image: Image.Image | None) -> dict:
    blank = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    return {"background": None, "layers": [image or blank], "composite": image or blank}


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_drawing_is_read_and_the_image_received_is_shown(champion):
    probabilities, shown, message, model = answer_drawing(champion, _drawing(_seven()))
    assert message == "**The model reads a 7** (91.0%)."
    assert probabilities["7"] == pytest.approx(0.91) and len(probabilities) == 10
    assert shown.shape == (28 * ZOOM, 28 * ZOOM) and shown.dtype == np.uint8
    assert "mnist_classifier version 3 (mlp, val accuracy 0.9844)" in model


def test_a_drawing_turned_away_says_it_is_not_a_digit_and_still_shows_the_probabilities(
    champion, monkeypatch
):
    monkeypatch.setattr(Champion, "_load", staticmethod(lambda version: _ServedModel(rejects=True)))
    probabilities, shown, message, _ = answer_drawing(champion, _drawing(_seven()))
    assert message == (
        "**This does not look like a digit**: not like any digit (digit-likeness 0.0004 < 0.0100)."
    )
    assert len(probabilities) == 10 and shown is not None


def test_the_page_prepares_an_image_as_predict_does(champion):
    """One implementation: the image the page's model receives is predict's 28x28."""
    data = _png(_seven(mode="L"))
    reading = read_image_file(_ServedModel(), data, "seven.png")
    images, _ = prepare_digit_images(
        {"seven.png": lambda: Image.open(io.BytesIO(data))}, PREPARATION
    )
    np.testing.assert_array_equal(reading.image, images[0])
    assert reading.image.max() == 255 and reading.image[0].max() == 0  # white ink on black


def test_an_empty_canvas_asks_for_a_digit(champion):
    assert answer_drawing(champion, None)[2] == f"**{DRAW_A_DIGIT}**"
    assert answer_drawing(champion, _drawing(None))[2] == f"**{DRAW_A_DIGIT}**"
    assert champion.loads == []  # nothing to read: the registry is not asked


def test_an_upload_that_is_no_image_or_too_large_is_a_message(champion, tmp_path):
    assert answer_upload(champion, None)[2] == f"**{CHOOSE_A_FILE}**"
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    _, shown, message, model = answer_upload(champion, str(text))
    assert shown is None and message.startswith("**No digit: not a readable PNG, JPEG or BMP")
    assert "version 3" in model
    large = tmp_path / "large.bmp"
    Image.new("L", (400, 400), "white").save(large)  # 160 kB, over the 100 kB limit
    message = answer_upload(champion, str(large))[2]
    assert "over the model's 100,000 (serving.max_image_bytes)" in message
    huge = tmp_path / "huge.png"
    Image.new("L", (1200, 1200), "white").save(huge)  # small file, 1.44 M pixels
    message = answer_upload(champion, str(huge))[2]
    assert "1200x1200 pixels, over 1,000,000 (serving.max_image_pixels)" in message
    seven = tmp_path / "seven.png"
    _seven(mode="L").save(seven)
    assert answer_upload(champion, str(seven))[2] == "**The model reads a 7** (91.0%)."


def test_no_champion_says_to_run_kedro_first(champion):
    champion.registry.version = None
    message = answer_drawing(champion, _drawing(_seven()))[2]
    assert "There is no champion yet" in message and "run `kedro run` first" in message


def test_a_new_champion_is_used_on_the_next_drawing(champion):
    answer_drawing(champion, _drawing(_seven()))
    answer_drawing(champion, _drawing(_seven()))
    champion.registry.version = 4
    model = answer_drawing(champion, _drawing(_seven()))[3]
    assert champion.loads == ["3", "4"] and "version 4" in model


def test_a_registry_that_went_away_is_a_message(champion):
    champion.registry.version = MlflowException("Max retries exceeded with url")
    message = answer_drawing(champion, _drawing(_seven()))[2]
    assert "does not answer" in message and "Start the tracking server" in message
    champion.registry.version = 3
    answer_drawing(champion, _drawing(_seven()))
    champion.registry.version = ConnectionError("connection refused")
    _, _, message, model = answer_drawing(champion, _drawing(_seven()))
    assert message == "**The model reads a 7** (91.0%)."
    assert "answers with the champion it loaded before" in model


def test_a_bug_while_reading_keeps_the_page_up(champion, monkeypatch, caplog):
    def broken(model, data, name, version):
        raise RuntimeError("a bug")

    monkeypatch.setattr("mnist_pipeline.demo.page.read_image_file", broken)
    message = answer_drawing(champion, _drawing(_seven()))[2]
    assert message == "**Something went wrong reading this image: see the terminal.**"
    assert "a bug" in caplog.text
