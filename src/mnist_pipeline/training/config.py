"""The training parameters (``conf/base/parameters_train.yml``), checked before any work starts."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from mnist_pipeline.parameter_checks import (
    ParameterError,
    Parameters,
    allowed,
    boolean,
    number,
    one_of,
    whole,
)

__all__ = ["IMPLEMENTATIONS", "MODELS", "PRECISIONS", "ParameterError", "TrainingConfig"]

#: The two computations of the seed's step: :mod:`.reference_step` and :mod:`.fused_steps`.
IMPLEMENTATIONS = ("reference", "fused")
#: The networks: the seed's MLP (:mod:`.mlp`) and the book's LeNet-5 (:mod:`.lenet5`).
MODELS = ("mlp", "lenet5")
#: The precisions of the training products (:mod:`.precision`).
PRECISIONS = ("float32", "mixed_bfloat16")

_POSITIVE = number(0.0, math.inf, open_low=True, open_high=True)
_FRACTION = number(0.0, 1.0, open_low=True)


@dataclasses.dataclass(frozen=True)
class TrainingConfig(Parameters):
    """Hyperparameters of the network and its training; defaults are the seed's values.

    With ``model: lenet5``, the values under ``train.lenet5`` replace the ones beside it
    (LeNet-5 trains with other settings than the MLP; see ``parameters_train.yml``).
    """

    namespace: ClassVar[str] = "train"

    model: str = allowed(one_of(*MODELS), default="mlp")
    steps: int = allowed(whole(1), default=20_000)
    batch_size: int = allowed(whole(1), default=100)
    hidden_units: int = allowed(whole(1), default=500)
    init_stddev: float = allowed(_POSITIVE, default=0.1)
    init_bias: float = allowed(
        number(-math.inf, math.inf, open_low=True, open_high=True), default=0.1
    )
    learning_rate_base: float = allowed(_POSITIVE, default=0.8)
    learning_rate_decay: float = allowed(_FRACTION, default=0.99)
    decay_steps: int | None = allowed(whole(1, optional=True), default=None)
    staircase: bool = allowed(boolean, default=False)
    regularization_rate: float = allowed(number(0.0, math.inf, open_high=True), default=1e-4)
    moving_average_decay: float = allowed(
        number(0.0, 1.0, open_low=True, open_high=True), default=0.99
    )
    eval_every: int = allowed(whole(1), default=1000)
    seed: int = allowed(whole(0), default=0)
    resume: bool = allowed(boolean, default=True)
    implementation: str = allowed(one_of(*IMPLEMENTATIONS), default="fused")
    precision: str = allowed(one_of(*PRECISIONS), default="float32")
    # LeNet-5's layers (model: lenet5 only).
    kernel_size: int = allowed(whole(1), default=5)
    conv1_filters: int = allowed(whole(1), default=32)
    conv2_filters: int = allowed(whole(1), default=64)
    fc_units: int = allowed(whole(1), default=512)
    dropout_rate: float = allowed(number(0.0, 1.0, open_high=True), default=0.5)

    @classmethod
    def from_params(cls, values: Mapping[str, Any]) -> Self:
        """Check ``values``; with ``model: lenet5``, its ``lenet5`` values apply."""
        values = dict(values)
        lenet5 = values.pop("lenet5", None) or {}
        known = {field.name for field in dataclasses.fields(cls)} - {"model"}
        unknown = sorted(set(lenet5) - known)
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) {', '.join(f'train.lenet5.{key}' for key in unknown)} "
                f"in conf/base/parameters_train.yml or --params; known: {', '.join(sorted(known))}"
            )
        if values.get("model") == "lenet5":
            values.update(lenet5)
        return super().from_params(values)

    def check_together(self) -> None:
        """Each SGD step shrinks the weights by ``1 - learning_rate x regularization_rate``."""
        if self.learning_rate_base * self.regularization_rate >= 1:
            raise ParameterError(
                f"Parameters train.learning_rate_base={self.learning_rate_base!r} and "
                f"train.regularization_rate={self.regularization_rate!r} are invalid: each "
                "SGD step shrinks the weights by their product, which must be below 1"
            )

    def check_against_data(self, num_train_examples: int) -> None:
        """Checks that need the size of the training set."""
        if self.batch_size > num_train_examples:
            self.fail(
                "batch_size",
                self.batch_size,
                f"at most the number of training examples ({num_train_examples})",
            )
