"""The training parameters (``conf/base/parameters_train.yml``), checked before any work starts."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from mnist_pipeline.errors import UserFacingError


class ParameterError(UserFacingError, ValueError):
    """A parameter has a value that cannot work; the message names it and the allowed range."""


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters of the seed's MLP and its training; defaults are the seed's values."""

    steps: int = 20_000
    batch_size: int = 100
    hidden_units: int = 500
    init_stddev: float = 0.1
    init_bias: float = 0.1
    learning_rate_base: float = 0.8
    learning_rate_decay: float = 0.99
    decay_steps: int | None = None
    staircase: bool = False
    regularization_rate: float = 1e-4
    moving_average_decay: float = 0.99
    eval_every: int = 1000
    seed: int = 0  # conf/base/parameters_train.yml is what runs use; kept equal here
    resume: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any], prefix: str = "train") -> TrainingConfig:
        """Build and check a config from the ``train`` parameters.

        Raises:
            ParameterError: for an unknown key or a value out of range, naming
                ``train.<key>``, the value and what is allowed.
        """
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) {', '.join(f'{prefix}.{key}' for key in unknown)} in "
                f"conf/base/parameters_train.yml or --params; known: {', '.join(sorted(known))}"
            )
        config = cls(**dict(params))
        config.check(prefix)
        return config

    def check(self, prefix: str = "train") -> None:
        """Raise :class:`ParameterError` for the first value that cannot work."""

        def fail(key: str, allowed: str) -> None:
            raise ParameterError(
                f"Parameter {prefix}.{key}={getattr(self, key)!r} is invalid: it must be {allowed}"
            )

        def whole(key: str, minimum: int, optional: bool = False) -> None:
            value = getattr(self, key)
            if optional and value is None:
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                fail(key, f"a whole number >= {minimum}" + (" or null" if optional else ""))

        def real(key: str, low: float, high: float, low_open: bool, high_open: bool) -> None:
            value = getattr(self, key)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = ok and math.isfinite(value)
            ok = ok and (value > low if low_open else value >= low)
            ok = ok and (value < high if high_open else value <= high)
            if not ok:
                fail(key, f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}")

        for key in ("steps", "batch_size", "hidden_units", "eval_every"):
            whole(key, 1)
        whole("decay_steps", 1, optional=True)
        whole("seed", 0)
        real("init_stddev", 0.0, math.inf, True, True)
        real("init_bias", -math.inf, math.inf, True, True)
        real("learning_rate_base", 0.0, math.inf, True, True)
        real("learning_rate_decay", 0.0, 1.0, True, False)
        real("regularization_rate", 0.0, math.inf, False, True)
        real("moving_average_decay", 0.0, 1.0, True, True)
        if self.learning_rate_base * self.regularization_rate >= 1:
            raise ParameterError(
                f"Parameters {prefix}.learning_rate_base={self.learning_rate_base!r} and "
                f"{prefix}.regularization_rate={self.regularization_rate!r} are invalid: each "
                "SGD step shrinks the weights by their product, which must be below 1"
            )
        for key in ("staircase", "resume"):
            if not isinstance(getattr(self, key), bool):
                fail(key, "true or false")

    def check_against_data(self, num_train_examples: int, prefix: str = "train") -> None:
        """Checks that need the size of the training set."""
        if self.batch_size > num_train_examples:
            raise ParameterError(
                f"Parameter {prefix}.batch_size={self.batch_size} is invalid: it must be at most "
                f"the number of training examples ({num_train_examples})"
            )
