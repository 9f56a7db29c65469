"""The drawing page (``kedro demo``): draw a digit or upload an image, see the champion's
answer, its 10 probabilities and the 28x28 image it received.

Gradio's sketchpad, label and image components; no canvas or HTTP code of our own. The
page answers when a stroke ends (and when the canvas is cleared or a stroke undone, with
Gradio's own buttons), and asks the registry for the champion on every answer
(:class:`~.champion.Champion`). Served on 127.0.0.1 only, with Gradio's analytics off
and the system's fonts (nothing is fetched from the internet).
"""

from __future__ import annotations

import io
import logging
import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from mnist_pipeline.errors import UserFacingError

from .champion import Champion, Reading, page_tally, read_image_file

logger = logging.getLogger(__name__)

#: The drawing canvas, in pixels: ten times MNIST's 28, so a finger or a mouse draws as
#: freely as a pen; the brush's radius in the same pixels (MNIST's strokes are about a
#: tenth of the digit's height).
CANVAS_SIDE = 280
BRUSH_RADIUS = 11
#: How much larger the 28x28 image the model received is shown.
ZOOM = 8

DRAW_A_DIGIT = "Draw a digit in the box (one digit, as large as the box)."
CHOOSE_A_FILE = "Choose an image file of one digit (PNG, JPEG or BMP)."

#: Gradio's sketchpad opens, and comes back from "Clear canvas", with no tool chosen:
#: this picks its brush once the page (or the cleared canvas) is ready.
_CHOOSE_THE_BRUSH = """
() => {
  const pick = (tries) => {
    const brush = document.querySelector('#drawing button[aria-label="Brush"]');
    if (brush) { brush.click(); } else if (tries > 0) { setTimeout(() => pick(tries - 1), 100); }
  };
  setTimeout(() => pick(50), 200);
}
"""


def _empty_answer(message: str, model: str = "") -> tuple[Any, Any, str, str]:
    return None, None, f"**{message}**", model


def _answer(champion: Champion, read) -> tuple[Any, Any, str, str]:
    """(probabilities for the label, the image received, the message, which model and
    what the page has answered so far): the page's outputs for ``read(model, version) ->
    Reading``; an expected failure is the message."""
    try:
        info, model, note = champion.current()
        reading: Reading = read(model, info.version)
    except UserFacingError as exc:
        return _empty_answer(str(exc))
    except Exception:  # the page stays up; the terminal has the traceback
        logger.exception("The page could not answer")
        return _empty_answer("Something went wrong reading this image: see the terminal.")
    answered_by = f"Answered by **{info.describe()}**, the registry's champion."
    if note:
        answered_by += f"\n\n{note}"
    answered_by += f"\n\n{page_tally(model)}"
    if reading.error:
        return _empty_answer(f"No digit: {reading.error}", answered_by)
    shown = np.kron(reading.image, np.ones((ZOOM, ZOOM), np.uint8))
    probabilities = {str(digit): p for digit, p in enumerate(reading.probabilities)}
    if reading.reason:  # rejected: the probabilities are still shown
        message = f"**This does not look like a digit**: {reading.reason}."
    else:
        message = f"**The model reads a {reading.digit}** ({max(reading.probabilities):.1%})."
    return probabilities, shown, message, answered_by


def answer_drawing(champion: Champion, drawing: dict[str, Any] | None):
    """The page's outputs for the sketchpad's value (Gradio's layers and composite)."""
    layers = [] if drawing is None else list(drawing.get("layers") or [])
    if not any(layer is not None and np.asarray(layer)[..., 3].any() for layer in layers):
        return _empty_answer(DRAW_A_DIGIT)
    buffer = io.BytesIO()
    drawing["composite"].save(buffer, format="PNG")
    return _answer(
        champion,
        lambda model, version: read_image_file(model, buffer.getvalue(), "drawing", version),
    )


def answer_upload(champion: Champion, path: str | None):
    """The page's outputs for an uploaded file (its temporary path), read like a drawing."""
    if path is None:
        return _empty_answer(CHOOSE_A_FILE)
    file = Path(path)

    def read(model, version):
        limit = model.unwrap_python_model().limits["max_image_bytes"]
        size = file.stat().st_size
        if size > limit:
            return Reading(
                image=None,
                digit=None,
                probabilities=(),
                error=f"the file is {size:,} bytes, over the model's {limit:,} "
                "(serving.max_image_bytes): choose a smaller image",
                reason="",
            )
        return read_image_file(model, file.read_bytes(), file.name, version)

    return _answer(champion, read)


def _input(gr, source: str):
    """The sketchpad (``drawing``) or the file chooser (``upload``)."""
    if source == "drawing":
        return gr.Sketchpad(
            label="Your digit",
            type="pil",
            image_mode="RGBA",
            canvas_size=(CANVAS_SIDE, CANVAS_SIDE),
            fixed_canvas=True,
            brush=gr.Brush(default_size=BRUSH_RADIUS, colors=["#000000"], color_mode="fixed"),
            layers=False,
            transforms=(),
            buttons=[],
            elem_id="drawing",
        )
    return gr.File(label="Your image", file_types=["image"], type="filepath", elem_id="upload")


def build_page(champion: Champion):
    """The page's Gradio app: a drawing tab and an upload tab, one set of answers each."""
    import gradio as gr  # noqa: PLC0415

    with gr.Blocks(title="mnist-pipeline: draw a digit", analytics_enabled=False) as page:
        gr.Markdown(
            "# Draw a digit\nThe registry's champion reads it, as the served model and "
            "`kedro run --pipeline=predict` read an image file: made MNIST-like (cropped to "
            "the ink, scaled into 20x20, centred by its centre of mass in 28x28)."
        )
        with gr.Tabs():
            for tab, source in (("Draw", "drawing"), ("Upload an image", "upload")):
                with gr.Tab(tab, id=source), gr.Row():
                    with gr.Column(scale=5):
                        given = _input(gr, source)
                    with gr.Column(scale=3):
                        message = gr.Markdown(
                            f"**{DRAW_A_DIGIT if source == 'drawing' else CHOOSE_A_FILE}**",
                            elem_id=f"{source}-message",
                        )
                        received = gr.Image(
                            label="What the model received (28x28)",
                            image_mode="L",
                            interactive=False,
                            buttons=[],
                            height=28 * ZOOM + 40,
                            elem_id=f"{source}-received",
                        )
                        model = gr.Markdown(elem_id=f"{source}-model")
                    with gr.Column(scale=3):
                        probabilities = gr.Label(
                            label="Probabilities", num_top_classes=10, elem_id=f"{source}-label"
                        )
                outputs = [probabilities, received, message, model]
                answer = partial(answer_drawing if source == "drawing" else answer_upload, champion)
                given.change(
                    answer, given, outputs, trigger_mode="always_last", show_progress="hidden"
                )
                given.clear(
                    partial(answer, None),
                    None,
                    outputs,
                    show_progress="hidden",
                    js=_CHOOSE_THE_BRUSH if source == "drawing" else None,
                )
        page.load(None, js=_CHOOSE_THE_BRUSH)
    return page


def serve(champion: Champion, port: int) -> None:
    """Serve the page on 127.0.0.1:``port`` until interrupted."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr  # noqa: PLC0415

    theme = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )
    build_page(champion).launch(
        server_name="127.0.0.1",
        server_port=port,
        share=False,
        inbrowser=False,
        show_error=False,
        theme=theme,
        footer_links=[],
        max_file_size="50mb",
    )
