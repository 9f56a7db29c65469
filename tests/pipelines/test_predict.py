"""``predict``: MNIST-like normalisation of any image, file errors, the report table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.runner import SequentialRunner
from PIL import Image, ImageDraw

from mnist_pipeline.datasets import ImageFolderDataset
from mnist_pipeline.errors import DataFileError
from mnist_pipeline.pipelines import predict
from mnist_pipeline.pipelines.inference.images import NoInkError, mnist_like
from mnist_pipeline.pipelines.predict.nodes import (
    REPORT_COLUMNS,
    prepare_digit_images,
    report_predictions,
)

from ..conftest import in_memory_catalog

PARAMETERS = {"box_size": 20, "ink_threshold": 0.2, "min_contrast": 40}


def _seven(
    size: int, ink: int = 255, paper: int = 0, canvas=(None, None), at=(0, 0)
) -> Image.Image:
    """A thick, anti-aliased '7' drawn in a ``size`` square, placed on a larger canvas."""
    scale = 4
    big = Image.new("L", (size * scale, size * scale), paper)
    draw = ImageDraw.Draw(big)
    s = size * scale
    draw.line(
        [(0.2 * s, 0.15 * s), (0.8 * s, 0.15 * s), (0.4 * s, 0.9 * s)],
        fill=ink,
        width=max(1, int(0.12 * s)),
        joint="curve",
    )
    digit = big.resize((size, size), Image.Resampling.LANCZOS)
    width, height = canvas
    page = Image.new("L", (width or size, height or size), paper)
    page.paste(digit, at)
    return page


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, columns = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (columns * image).sum() / image.sum()


REFERENCE = mnist_like(_seven(28))


def _distance(image: np.ndarray, reference: np.ndarray = REFERENCE) -> float:
    """Mean absolute difference in grey levels, allowing a shift of one pixel (the centre
    of mass is rounded to whole pixels, so renderings may land one pixel apart)."""
    padded = np.pad(image.astype(float), 1)
    return min(
        float(np.abs(padded[1 + dy : 29 + dy, 1 + dx : 29 + dx] - reference).mean())
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )


def test_the_result_is_mnist_like_white_on_black_20_px_centred_by_mass():
    assert REFERENCE.shape == (28, 28) and REFERENCE.dtype == np.uint8
    assert REFERENCE.max() == 255 and REFERENCE[0].max() == 0  # white ink, black border
    inked = REFERENCE > 0
    height = np.ptp(np.flatnonzero(inked.any(axis=1))) + 1
    width = np.ptp(np.flatnonzero(inked.any(axis=0))) + 1
    assert max(height, width) in (20, 21)  # anti-aliasing may reach one more pixel
    row, column = _centre_of_mass(REFERENCE.astype(float))
    assert abs(row - 14) <= 0.6 and abs(column - 14) <= 0.6


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda: _seven(28, ink=0, paper=255), id="dark-on-light"),
        pytest.param(lambda: _seven(90, canvas=(300, 200), at=(190, 10)), id="large-off-centre"),
        pytest.param(
            lambda: _seven(120, ink=20, paper=230, canvas=(400, 400), at=(10, 260)),
            id="large-dark-on-light-in-a-corner",
        ),
        pytest.param(lambda: _seven(60, ink=40, paper=200).convert("RGB"), id="rgb-grey-paper"),
        pytest.param(lambda: _seven(56).convert("I;16"), id="16-bit"),
    ],
)
def test_other_sizes_positions_polarities_and_modes_give_the_same_digit(variant):
    assert _distance(mnist_like(variant())) < 8  # of 255; a drawn "1" is 33 away


def test_transparent_background_counts_as_paper():
    ink = _seven(40, ink=0, paper=255)
    rgba = Image.new("RGBA", ink.size, (0, 0, 0, 0))
    rgba.putalpha(Image.eval(ink, lambda v: 255 - v))  # black ink, see-through elsewhere
    assert _distance(mnist_like(rgba)) < 8


@pytest.mark.parametrize("level", [0, 128, 255])
def test_an_image_without_ink_is_refused(level):
    with pytest.raises(NoInkError, match="no ink"):
        mnist_like(Image.new("L", (40, 30), level))


def _partitions(tmp_path: Path) -> dict:
    _seven(50).save(tmp_path / "a_seven.png")
    _seven(50, ink=0, paper=255).convert("RGB").save(tmp_path / "b_seven.jpg")
    (tmp_path / "c_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    Image.new("L", (30, 30), 255).save(tmp_path / "d_blank.bmp")
    (tmp_path / ".hidden").write_text("not an image")
    return ImageFolderDataset(path=str(tmp_path), dataset="pillow.ImageDataset").load()


def test_every_file_gets_an_image_or_an_error(tmp_path):
    partitions = _partitions(tmp_path)
    assert sorted(partitions) == ["a_seven.png", "b_seven.jpg", "c_broken.png", "d_blank.bmp"]
    images, files = prepare_digit_images(partitions, PARAMETERS)
    assert images.shape == (2, 28, 28) and images.dtype == np.uint8
    assert files["file"].tolist() == sorted(partitions)
    errors = files.set_index("file")["error"]
    assert errors["a_seven.png"] == "" and errors["b_seven.jpg"] == ""
    assert errors["c_broken.png"].startswith("not a readable PNG, JPEG or BMP image")
    assert errors["d_blank.bmp"].startswith("no ink")


@pytest.mark.parametrize("make", [lambda p: p, lambda p: p / "missing"], ids=["empty", "missing"])
def test_an_empty_or_missing_folder_is_one_clear_message(tmp_path, make):
    folder = make(tmp_path)
    with pytest.raises(DataFileError, match="There are no image files in .*: put the PNG, JPEG"):
        ImageFolderDataset(path=str(folder), dataset="pillow.ImageDataset").load()


def test_report_has_a_row_per_file_with_digit_or_error():
    files = pd.DataFrame({"file": ["a.png", "b.png", "c.png"], "error": ["", "no ink: x", ""]})
    predictions = pd.DataFrame(
        [_ANSWER, [pd.NA, 0.3] + [0.07] * 10 + [0.0001, True, "not like any digit"]],
        columns=REPORT_COLUMNS[1:-1],
    )
    report = report_predictions(files, predictions)
    assert list(report.columns) == REPORT_COLUMNS
    assert report["digit"].tolist()[0] == 7 and pd.isna(report.loc[2, "digit"])
    assert report.loc[2, "rejected"] and report.loc[2, "reason"] == "not like any digit"
    assert pd.isna(report.loc[1, "digit"]) and pd.isna(report.loc[1, "probability"])
    assert report["error"].tolist() == ["", "no ink: x", ""]


#: A served model's answer of a 7 with probability 0.9, not turned away.
_ANSWER = [7, 0.9] + [0.01] * 10 + [0.5, False, ""]

#: What the stub champion was given (the catalog hands nodes a copy of the stub).
_SEEN: list[np.ndarray] = []


class _ServedStub:
    """Stands in for the served pyfunc: always predicts 7 with probability 0.9."""

    def predict(self, images):
        _SEEN.append(images)
        return pd.DataFrame([_ANSWER] * len(images), columns=REPORT_COLUMNS[1:-1])


class _ChampionStub:
    """Stands in for the registry's champion (``RegisteredModelDataset``'s load)."""

    name, version, model_uri = "mnist_classifier", "4", "models:/mnist_classifier/4"
    run = {"run_id": "run-4"}
    model = _ServedStub()


def test_predict_pipeline_on_an_in_memory_catalog(tmp_path):
    pipeline = predict.create_pipeline()
    catalog = in_memory_catalog(
        {
            "new_digit_images": _partitions(tmp_path),
            "champion_model": _ChampionStub(),
            "params:predict": PARAMETERS,
        },
        pipeline.all_outputs(),
    )
    SequentialRunner().run(pipeline, catalog)
    report = catalog.load("predictions")
    assert report["file"].tolist() == ["a_seven.png", "b_seven.jpg", "c_broken.png", "d_blank.bmp"]
    assert report["digit"].isna().tolist() == [False, False, True, True]
    (seen,) = _SEEN
    assert seen.shape == (2, 28, 28) and seen.dtype == np.float64
    assert catalog.load("predict_tags") == {
        "training_run_id": "run-4",
        "registered_model_version": "4",
        "model_uri": "models:/mnist_classifier/4",
    }
