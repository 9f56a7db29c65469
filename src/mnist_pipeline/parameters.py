"""Every pipeline's parameters, declared once and checked before a run reads any data.

One dataclass per namespace of ``conf/base/parameters_<pipeline>.yml``, declared with
:mod:`mnist_pipeline.parameter_checks` (``train``'s is
:class:`~mnist_pipeline.training.config.TrainingConfig`, beside the training code).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from mnist_pipeline.parameter_checks import ParameterError, Parameters, allowed, number, whole
from mnist_pipeline.training.config import TrainingConfig


@dataclasses.dataclass(frozen=True)
class IngestParameters(Parameters):
    """``parameters_ingest.yml``."""

    namespace: ClassVar[str] = "ingest"
    num_classes: int = allowed(whole(2))


@dataclasses.dataclass(frozen=True)
class PreprocessParameters(Parameters):
    """``parameters_preprocess.yml``."""

    namespace: ClassVar[str] = "preprocess"
    validation_size: int = allowed(whole(1))


@dataclasses.dataclass(frozen=True)
class EvaluateParameters(Parameters):
    """``parameters_evaluate.yml``."""

    namespace: ClassVar[str] = "evaluate"
    mistakes_to_show: int = allowed(whole(0))


@dataclasses.dataclass(frozen=True)
class PredictParameters(Parameters):
    """``parameters_predict.yml``."""

    namespace: ClassVar[str] = "predict"
    box_size: int = allowed(whole(1), number(1, 28))
    ink_threshold: float = allowed(number(0, 1, open_low=True))
    min_contrast: float = allowed(number(0, 255))


#: namespace -> its parameters.
NAMESPACES: dict[str, type[Parameters]] = {
    parameters.namespace: parameters
    for parameters in (
        IngestParameters,
        PreprocessParameters,
        TrainingConfig,
        EvaluateParameters,
        PredictParameters,
    )
}


def check_parameters(
    parameters: Mapping[str, Any], namespaces: set[str], training_file_examples: int | None
) -> None:
    """Check the given namespaces of ``parameters``; ``training_file_examples`` is the
    number of examples in the raw training file when known (checks the split sizes)."""
    checked = {
        namespace: NAMESPACES[namespace].from_params(parameters.get(namespace) or {})
        for namespace in sorted(namespaces & set(NAMESPACES))
    }
    if training_file_examples is None or "preprocess" not in parameters:
        return
    size = parameters["preprocess"]["validation_size"]
    if "preprocess" in checked and size >= training_file_examples:
        PreprocessParameters.fail(
            "validation_size",
            size,
            f"less than the {training_file_examples} examples of the training file",
        )
    if "train" in checked:
        checked["train"].check_against_data(training_file_examples - size)


__all__ = ["NAMESPACES", "ParameterError", "check_parameters"]
