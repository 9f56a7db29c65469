"""The drawing page: a person draws a digit (or uploads an image) and the registry's
champion reads it (``kedro demo``; needs the ``demo`` extra, Gradio)."""

from .champion import Champion, ModelInfo, Reading, read_image_file
from .page import build_page, serve

__all__ = ["Champion", "ModelInfo", "Reading", "build_page", "read_image_file", "serve"]
