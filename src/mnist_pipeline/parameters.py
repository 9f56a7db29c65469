"""Check every pipeline's parameters before a run reads any data.

Each namespace of ``conf/base/parameters_<pipeline>.yml`` has its checks here; the
``train`` namespace is checked by :class:`~mnist_pipeline.training.config.TrainingConfig`.
A failing check raises :class:`~mnist_pipeline.training.config.ParameterError` naming
``<namespace>.<key>``, the value and the allowed range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mnist_pipeline.training.config import ParameterError, TrainingConfig


def _whole(minimum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"a whole number >= {minimum}"
        return None

    return check


def _between(low: float, high: float, *, open_low: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        number = not isinstance(value, bool) and isinstance(value, int | float)
        if not number or not (low < value if open_low else low <= value) or value > high:
            return f"a number in {'(' if open_low else '['}{low:g}, {high:g}]"
        return None

    return check


#: namespace -> key -> check returning what is allowed when the value is not.
SCHEMAS: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "ingest": {"num_classes": _whole(2)},
    "preprocess": {"validation_size": _whole(1)},
    "evaluate": {"mistakes_to_show": _whole(0)},
    "predict": {
        "box_size": lambda value: _whole(1)(value) or _between(1, 28)(value),
        "ink_threshold": _between(0, 1, open_low=True),
        "min_contrast": _between(0, 255),
    },
}


def _check_namespace(namespace: str, values: Mapping[str, Any]) -> None:
    schema = SCHEMAS[namespace]
    unknown = sorted(set(values) - set(schema))
    if unknown:
        raise ParameterError(
            f"Unknown parameter(s) {', '.join(f'{namespace}.{k}' for k in unknown)} in "
            f"conf/base/parameters_{namespace}.yml or --params; known: {', '.join(sorted(schema))}"
        )
    for key, check in schema.items():
        if key not in values:
            raise ParameterError(
                f"Parameter {namespace}.{key} is missing from conf/base/parameters_{namespace}.yml"
            )
        allowed = check(values[key])
        if allowed:
            raise ParameterError(
                f"Parameter {namespace}.{key}={values[key]!r} is invalid: it must be {allowed}"
            )


def check_parameters(
    parameters: Mapping[str, Any], namespaces: set[str], training_file_examples: int | None
) -> None:
    """Check the given namespaces of ``parameters``; ``training_file_examples`` is the
    number of examples in the raw training file when known (checks the split sizes)."""
    for namespace in sorted(namespaces & set(SCHEMAS)):
        _check_namespace(namespace, parameters.get(namespace) or {})
    if training_file_examples is not None and "preprocess" in namespaces:
        size = parameters["preprocess"]["validation_size"]
        if size >= training_file_examples:
            raise ParameterError(
                f"Parameter preprocess.validation_size={size} is invalid: it must be less than "
                f"the {training_file_examples} examples of the training file"
            )
    if "train" in namespaces:
        config = TrainingConfig.from_params(parameters.get("train") or {})
        if training_file_examples is not None and "preprocess" in parameters:
            remaining = training_file_examples - parameters["preprocess"]["validation_size"]
            config.check_against_data(remaining)
