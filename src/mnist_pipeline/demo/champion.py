"""The registry's champion, as the drawing page uses it: looked up on every answer, loaded
again only when the alias has moved, and read as the served model reads an image file.

The page never prepares an image itself: a drawing or an upload goes, as the file bytes
of one image, through the served model's own
:func:`~mnist_pipeline.pipelines.inference.nodes.requested_images` with the champion's
own preparation and limits (``predict``'s
:func:`~mnist_pipeline.pipelines.inference.images.mnist_like_or_error`), and the 28x28
image it gives is what the network then receives.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mnist_pipeline.errors import UserFacingError
from mnist_pipeline.pipelines.inference.nodes import ask_served_model, requested_images
from mnist_pipeline.tracking.model import CHAMPION_ALIAS, REGISTERED_MODEL_NAME

logger = logging.getLogger(__name__)


class NoChampionError(UserFacingError, LookupError):
    """The registry has no champion yet."""


class RegistryUnreachableError(UserFacingError, ConnectionError):
    """The registry (the local store or the team's server) did not answer."""


@dataclass(frozen=True)
class ModelInfo:
    """Which model answered: registered name, version, architecture, validation accuracy."""

    name: str
    version: str
    architecture: str
    val_accuracy: float | None

    def describe(self) -> str:
        accuracy = "" if self.val_accuracy is None else f", val accuracy {self.val_accuracy:.4f}"
        return f"{self.name} version {self.version} ({self.architecture}{accuracy})"


@dataclass(frozen=True)
class Reading:
    """The champion's answer for one image: the 28x28 image it received (white on black,
    ``None`` when the image could not be read), its digit and the 10 probabilities, or
    why there is no digit: an ``error`` (the image could not be read) or the ``reason``
    it was rejected as not a digit (its probabilities are still given)."""

    image: np.ndarray | None
    digit: int | None
    probabilities: tuple[float, ...]
    error: str
    reason: str = ""


class Champion:
    """The champion of the registry MLflow points at (set up by the Kedro session).

    ``current()`` asks the registry which version holds the alias on every call (one
    small request) and loads that version's served model only when it differs from the
    one loaded: a new champion is picked up on the next drawing, without a restart.
    """

    def __init__(self, client: Any) -> None:
        """Keep the MLflow client; nothing is loaded before the first answer."""
        self._client = client
        self._loaded: tuple[ModelInfo, Any] | None = None

    def current(self) -> tuple[ModelInfo, Any, str]:
        """The champion's description, its served model, and a note ("" when all is well).

        When the registry does not answer but a champion was loaded before, that one
        answers and the note says so.

        Raises:
            NoChampionError: when no version holds the champion alias.
            RegistryUnreachableError: when the registry does not answer and nothing is loaded.
        """
        try:
            version = self._champion_version()
        except NoChampionError:
            raise
        except Exception as exc:  # noqa: BLE001 (MLflow raises several types for a lost server)
            reason = _registry_failure(exc)
            if self._loaded is None:
                raise RegistryUnreachableError(reason) from None
            logger.warning("%s", reason)
            info, model = self._loaded
            return info, model, f"{reason} The page answers with the champion it loaded before."
        if self._loaded is None or self._loaded[0].version != str(version.version):
            self._loaded = (_info_of(version), self._load(str(version.version)))
            logger.info("The page answers with %s.", self._loaded[0].describe())
        info, model = self._loaded
        return info, model, ""

    def _champion_version(self) -> Any:
        from mlflow.exceptions import MlflowException  # noqa: PLC0415

        try:
            return self._client.get_model_version_by_alias(REGISTERED_MODEL_NAME, CHAMPION_ALIAS)
        except MlflowException as exc:
            if exc.error_code not in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
                raise
            raise NoChampionError(
                f"There is no champion yet ({REGISTERED_MODEL_NAME}@{CHAMPION_ALIAS} in "
                f"{self._client.tracking_uri}): run `kedro run` first, which trains a "
                "model and makes it champion when it passes the gate."
            ) from None

    @staticmethod
    def _load(version: str) -> Any:
        import mlflow.pyfunc  # noqa: PLC0415

        return mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL_NAME}/{version}")


def page_tally(model: Any) -> str:
    """What the page has answered since it started, from the prediction log it writes
    (every champion it loads writes through this process's one writer)."""
    log = getattr(model.unwrap_python_model(), "log", None)
    if log is None:
        return "This champion does not log its answers (prediction_log.enabled is off)."
    answered, rejected = log.answered.get("page", 0), log.rejected.get("page", 0)
    share = f", {rejected / answered:.0%} of them turned away as not a digit" if answered else ""
    return (
        f"{answered} image(s) answered since the page started{share} "
        f"(prediction log: {log.location})."
    )


def _info_of(version: Any) -> ModelInfo:
    accuracy = version.tags.get("val_accuracy")
    return ModelInfo(
        name=REGISTERED_MODEL_NAME,
        version=str(version.version),
        architecture=version.tags.get("architecture", "mlp"),
        val_accuracy=None if accuracy is None else float(accuracy),
    )


def _registry_failure(exc: BaseException) -> str:
    import mlflow  # noqa: PLC0415

    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return (
        f"The model registry at {mlflow.get_tracking_uri()} does not answer ({first_line}). "
        "Start the tracking server (or check the credentials), then draw again."
    )


def read_image_file(model: Any, data: bytes, name: str, version: str = "") -> Reading:
    """The champion's reading of one image file (PNG, JPEG, BMP ... as bytes), logged as
    the page's (``version``: the registered version answering).

    Raises:
        InvalidImagesError: for a file over the champion's size limits (its message
            names the file and the setting).
    """
    python_model = model.unwrap_python_model()
    request = pd.DataFrame({"image": [base64.b64encode(data).decode("ascii")], "name": [name]})
    images, items = requested_images(request, python_model.preparation, python_model.limits)
    error = str(items["error"].iloc[0])
    if error:
        return Reading(image=None, digit=None, probabilities=(), error=error)
    answer = ask_served_model(model, images.astype(np.float64), source="page", version=version)
    row = pd.DataFrame(answer).iloc[0]
    probabilities = tuple(float(row[f"p{digit}"]) for digit in range(10))
    digit = None if row["rejected"] else int(row["digit"])
    return Reading(images[0], digit, probabilities, error="", reason=str(row["reason"]))
