"""One way to declare and check a namespace of parameters, used by every pipeline.

Each namespace of ``conf/base/parameters_<pipeline>.yml`` is a frozen dataclass whose
fields say what they allow::

    @dataclasses.dataclass(frozen=True)
    class PreprocessParameters(Parameters):
        namespace: ClassVar[str] = "preprocess"
        validation_size: int = allowed(whole(1))

``PreprocessParameters.from_params(values)`` builds it from the YAML mapping or raises
:class:`ParameterError` with one line naming ``<namespace>.<key>``, the value and what is
allowed. (Kedro's own typed-parameter validation wraps such messages in a multi-line
report and hands nodes objects instead of the mappings kedro-mlflow logs, so the project
checks its parameters itself, before a run reads any data:
:class:`mnist_pipeline.hooks.parameters.ParameterCheckHook`.)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

from mnist_pipeline.errors import UserFacingError

#: A check returns ``None`` for a good value, else what is allowed ("a whole number >= 1").
Check = Callable[[Any], str | None]


class ParameterError(UserFacingError, ValueError):
    """A parameter has a value that cannot work; the message names it and the allowed range."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def whole(minimum: int, *, optional: bool = False) -> Check:
    """A whole number >= ``minimum`` (or ``None`` when ``optional``)."""

    def check(value: Any) -> str | None:
        if optional and value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"a whole number >= {minimum}" + (" or null" if optional else "")
        return None

    return check


def number(low: float, high: float, *, open_low: bool = False, open_high: bool = False) -> Check:
    """A finite number between ``low`` and ``high``, each end included unless open."""

    def check(value: Any) -> str | None:
        ok = _is_number(value) and math.isfinite(value)
        ok = ok and (value > low if open_low else value >= low)
        ok = ok and (value < high if open_high else value <= high)
        if not ok:
            return f"a number in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
        return None

    return check


def boolean(value: Any) -> str | None:
    """``true`` or ``false``."""
    return None if isinstance(value, bool) else "true or false"


def one_of(*choices: str) -> Check:
    """One of the given words."""

    def check(value: Any) -> str | None:
        return None if value in choices else "one of " + ", ".join(choices)

    return check


def allowed(*checks: Check, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field checked by ``checks`` in turn (the first failure is reported)."""
    return dataclasses.field(default=default, metadata={"checks": checks})


@dataclasses.dataclass(frozen=True)
class Parameters:
    """Base of each namespace's parameters: build from a mapping, check every field."""

    namespace: ClassVar[str]

    @classmethod
    def from_params(cls, values: Mapping[str, Any]) -> Self:
        """Check ``values`` (the namespace's YAML mapping) and build the parameters.

        Raises:
            ParameterError: for an unknown or missing key, or a value out of range.
        """
        fields = {field.name: field for field in dataclasses.fields(cls)}
        source = f"conf/base/parameters_{cls.namespace}.yml"
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) {', '.join(f'{cls.namespace}.{key}' for key in unknown)} "
                f"in {source} or --params; known: {', '.join(sorted(fields))}"
            )
        for name, field in fields.items():
            if name not in values:
                if field.default is dataclasses.MISSING:
                    raise ParameterError(
                        f"Parameter {cls.namespace}.{name} is missing from {source}"
                    )
                continue
            for check in field.metadata.get("checks", ()):
                if (allowed_values := check(values[name])) is not None:
                    cls.fail(name, values[name], allowed_values)
        parameters = cls(**values)
        parameters.check_together()
        return parameters

    @classmethod
    def fail(cls, key: str, value: Any, allowed_values: str) -> None:
        """Raise the one-line error for ``<namespace>.<key>=<value>``."""
        raise ParameterError(
            f"Parameter {cls.namespace}.{key}={value!r} is invalid: it must be {allowed_values}"
        )

    def check_together(self) -> None:
        """Checks that involve several fields; none by default."""
