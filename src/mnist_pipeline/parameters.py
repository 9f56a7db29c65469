"""Every pipeline's parameters, declared once and checked before a run reads any data.

One pydantic model per namespace of ``conf/base/parameters_<namespace>.yml``; the fields
say what they allow, and :meth:`Parameters.check` turns the YAML mapping into the model
or raises :class:`ParameterError` with one line naming ``<namespace>.<key>``, the value
and what is allowed. :class:`ParameterCheckHook` checks, before any run starts, every
namespace its pipeline takes parameters from, together with the rules that need the size
of the data (read from the raw training file's header). Nodes still receive the plain
mappings, which kedro-mlflow logs as the run's parameters. (Kedro's own validation of
typed parameters would hand nodes model objects and report errors in several lines.)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, Self, get_args, get_origin

import annotated_types
from kedro.framework.hooks import hook_impl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from mnist_pipeline.errors import UserFacingError

#: The raw training labels: their header says how many examples the splits share.
TRAINING_LABELS_DATASET = "raw_train_labels"


class ParameterError(UserFacingError, ValueError):
    """A parameter has a value that cannot work; the message names it and the allowed range."""


def _bounds(field: Any) -> str:
    """``[low, high)``-style bounds of a numeric field, ``inf`` where it has none."""
    low, high, low_bracket, high_bracket = -math.inf, math.inf, "(", ")"
    for rule in field.metadata:
        if isinstance(rule, annotated_types.Ge | annotated_types.Gt):
            low = getattr(rule, "ge", getattr(rule, "gt", None))
            low_bracket = "[" if isinstance(rule, annotated_types.Ge) else "("
        if isinstance(rule, annotated_types.Le | annotated_types.Lt):
            high = getattr(rule, "le", getattr(rule, "lt", None))
            high_bracket = "]" if isinstance(rule, annotated_types.Le) else ")"
    return f"{low_bracket}{low}, {high}{high_bracket}"


def allowed_values(field: Any) -> str:
    """What a field allows, in words: "a whole number >= 1", "a number in (0.0, 1.0]"..."""
    annotation, optional = field.annotation, False
    if type(None) in get_args(annotation):
        annotation, optional = next(a for a in get_args(annotation) if a is not type(None)), True
    if annotation is bool:
        words = "true or false"
    elif get_origin(annotation) is Literal:
        words = "one of " + ", ".join(get_args(annotation))
    elif annotation is int:
        bounds = _bounds(field)
        low = bounds[1:].split(",")[0]
        words = (
            f"a whole number >= {low}" if bounds.endswith("inf)") else f"a whole number in {bounds}"
        )
    else:
        words = f"a number in {_bounds(field)}"
    return words + (" or null" if optional else "")


class Parameters(BaseModel):
    """Base of each namespace's parameters: checked from a mapping, one line per error."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    namespace: ClassVar[str]
    #: The file that sets the namespace, when it is not ``parameters_<namespace>.yml``.
    file: ClassVar[str] = ""

    @classmethod
    def check(cls, values: Mapping[str, Any], **data_sizes: int | None) -> Self:
        """Check ``values`` (the namespace's YAML mapping) and build the parameters.

        ``data_sizes`` (``training_file_examples``, ``training_examples``) enable the
        rules that need them, when known.

        Raises:
            ParameterError: for an unknown or missing key, or a value that cannot work.
        """
        try:
            return cls.model_validate(dict(values), context=data_sizes)
        except ValidationError as exc:
            raise ParameterError(cls._one_line(values, exc)) from None

    @classmethod
    def _one_line(cls, values: Mapping[str, Any], exc: ValidationError) -> str:
        source = f"conf/base/{cls.file or f'parameters_{cls.namespace}.yml'}"
        errors = exc.errors()
        unknown = [
            ".".join(str(part) for part in e["loc"])
            for e in errors
            if e["type"] == "extra_forbidden"
        ]
        if unknown:
            return (
                f"Unknown parameter(s) {', '.join(f'{cls.namespace}.{key}' for key in unknown)} "
                f"in {source} or --params; known: {', '.join(sorted(cls.model_fields))}"
            )
        error = errors[0]
        if not error["loc"]:  # a rule on several fields, or on the data: its own words
            return str(error["ctx"]["error"])
        key = str(error["loc"][0])
        if len(error["loc"]) > 1:  # inside a mapping (tune.space.<name>.<key>)
            where = ".".join(str(part) for part in error["loc"])
            return f"Parameter {cls.namespace}.{where} is invalid: {error['msg']}"
        if error["type"] == "missing":
            return f"Parameter {cls.namespace}.{key} is missing from {source}"
        return cls.invalid(key, values[key], allowed_values(cls.model_fields[key]))

    @classmethod
    def invalid(cls, key: str, value: Any, allowed: str) -> str:
        """The one-line message for ``<namespace>.<key>=<value>``."""
        return f"Parameter {cls.namespace}.{key}={value!r} is invalid: it must be {allowed}"


class IngestParameters(Parameters):
    """``parameters_ingest.yml``."""

    namespace: ClassVar[str] = "ingest"
    num_classes: int = Field(ge=2)


class Distortions(BaseModel):
    """How strongly digits are distorted, as other people's handwriting distorts them: each
    the largest draw of its kind (a rotation, a scale, a slant, a shift, a change of stroke
    width, an elastic wobble of ``elastic_alpha`` pixels smoothed over ``elastic_sigma``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    rotation_degrees: float = Field(0.0, ge=0.0, le=90.0)
    scale: float = Field(0.0, ge=0.0, lt=1.0)
    shear_degrees: float = Field(0.0, ge=0.0, lt=60.0)
    translation_pixels: float = Field(0.0, ge=0.0, le=14.0)
    stroke_width: float = Field(0.0, ge=0.0, le=1.0)
    elastic_alpha: float = Field(0.0, ge=0.0, le=14.0)
    elastic_sigma: float = Field(4.0, gt=0.0, le=14.0)

    @property
    def affine(self) -> bool:
        """Whether any affine distortion is on."""
        return any((self.rotation_degrees, self.scale, self.shear_degrees, self.translation_pixels))

    @property
    def enabled(self) -> bool:
        """Whether the batches are distorted at all."""
        return self.affine or self.stroke_width > 0 or self.elastic_alpha > 0


class AugmentationParameters(Distortions):
    """``train.augmentation``: how each training batch is distorted
    (``training/augmentation.py``). Every strength 0 (the default) trains on the images as
    they are: the seed's procedure."""


class ShiftedParameters(Distortions):
    """``preprocess.shifted``: the distortions of the shifted validation and test slices,
    drawn once from ``seed`` (``pipelines/preprocess/shifted.py``)."""

    seed: int = Field(ge=0)


class PreprocessParameters(Parameters):
    """``parameters_preprocess.yml``."""

    namespace: ClassVar[str] = "preprocess"
    validation_size: int = Field(ge=1)
    shifted: ShiftedParameters

    @model_validator(mode="after")
    def _leaves_examples_to_train(self, info: ValidationInfo) -> Self:
        examples = (info.context or {}).get("training_file_examples")
        if examples is not None and self.validation_size >= examples:
            raise ValueError(
                self.invalid(
                    "validation_size",
                    self.validation_size,
                    f"less than the {examples} examples of the training file",
                )
            )
        return self


#: The networks: the seed's MLP (``training/mlp.py``) and the book's LeNet-5 (``lenet5.py``).
Model = Literal["mlp", "lenet5"]
#: The two computations of the seed's step: ``training/reference_step.py`` and ``fused_steps.py``.
Implementation = Literal["reference", "fused"]
#: The precisions of the training products (``training/precision.py``).
Precision = Literal["float32", "mixed_bfloat16"]


class _Training(Parameters):
    """What both networks' training shares: the seed's procedure (SGD on the regularised
    loss, learning-rate decay, moving averages), its validation points and how it runs."""

    namespace: ClassVar[str] = "train"

    steps: int = Field(20_000, ge=1)
    batch_size: int = Field(100, ge=1)
    init_stddev: float = Field(0.1, gt=0.0, lt=math.inf)
    init_bias: float = Field(0.1, gt=-math.inf, lt=math.inf)
    learning_rate_base: float = Field(0.8, gt=0.0, lt=math.inf)
    learning_rate_decay: float = Field(0.99, gt=0.0, le=1.0)
    decay_steps: int | None = Field(None, ge=1)
    staircase: bool = False
    regularization_rate: float = Field(1e-4, ge=0.0, lt=math.inf)
    moving_average_decay: float = Field(0.99, gt=0.0, lt=1.0)
    eval_every: int = Field(1000, ge=1)
    seed: int = Field(0, ge=0)
    resume: bool = True
    implementation: Implementation = "fused"
    precision: Precision = "float32"
    augmentation: AugmentationParameters = AugmentationParameters()

    @model_validator(mode="after")
    def _shrinks_the_weights_by_less_than_all(self) -> Self:
        if self.learning_rate_base * self.regularization_rate >= 1:
            raise ValueError(
                f"Parameters train.learning_rate_base={self.learning_rate_base!r} and "
                f"train.regularization_rate={self.regularization_rate!r} are invalid: each "
                "SGD step shrinks the weights by their product, which must be below 1"
            )
        return self

    @model_validator(mode="after")
    def _batches_fit_the_training_set(self, info: ValidationInfo) -> Self:
        examples = (info.context or {}).get("training_examples")
        if examples is not None and self.batch_size > examples:
            raise ValueError(
                self.invalid(
                    "batch_size",
                    self.batch_size,
                    f"at most the number of training examples ({examples})",
                )
            )
        return self


class MLPParameters(_Training):
    """``train`` with ``model: mlp``: the seed's 784-500-10 network; defaults are the seed's."""

    model: Literal["mlp"] = "mlp"
    hidden_units: int = Field(500, ge=1)


class LeNet5Parameters(_Training):
    """``train`` with ``model: lenet5``: the book's LeNet-5, with ``train.lenet5``'s values."""

    model: Literal["lenet5"]
    kernel_size: int = Field(5, ge=1)
    conv1_filters: int = Field(32, ge=1)
    conv2_filters: int = Field(64, ge=1)
    fc_units: int = Field(512, ge=1)
    dropout_rate: float = Field(0.5, ge=0.0, lt=1.0)


#: The training of either network, told apart by ``model`` (a discriminated union).
TrainParameters = Annotated[MLPParameters | LeNet5Parameters, Field(discriminator="model")]
#: Each network's settings, by ``model``.
NETWORKS: dict[str, type[MLPParameters] | type[LeNet5Parameters]] = {
    "mlp": MLPParameters,
    "lenet5": LeNet5Parameters,
}
#: LeNet-5's own settings.
_LENET5_ONLY = set(LeNet5Parameters.model_fields) - set(_Training.model_fields) - {"model"}
#: The MLP's own settings: beside LeNet-5's shared ones in ``parameters_train.yml``, left out
#: of LeNet-5's settings.
_MLP_ONLY = set(MLPParameters.model_fields) - set(_Training.model_fields) - {"model"}


def network_values(train: Mapping[str, Any]) -> dict[str, Any]:
    """``train`` as ``parameters_train.yml`` holds it -> the values of the network it names:
    with ``model: lenet5``, the values under ``train.lenet5`` replace the ones beside them
    (LeNet-5 trains with other settings than the MLP) and the MLP's own are left out. The
    one place that reads that shape (:func:`with_values` writes it).

    Raises:
        ParameterError: for an unknown key under ``train.lenet5``.
    """
    values = dict(train)
    lenet5 = values.pop("lenet5", None) or {}
    known = set(LeNet5Parameters.model_fields) - {"model"}
    unknown = sorted(set(lenet5) - known)
    if unknown:
        raise ParameterError(
            f"Unknown parameter(s) {', '.join(f'train.lenet5.{key}' for key in unknown)} "
            f"in conf/base/parameters_train.yml or --params; known: {', '.join(sorted(known))}"
        )
    if values.get("model") != "lenet5":
        return values
    return {key: value for key, value in values.items() if key not in _MLP_ONLY} | lenet5


def with_values(train: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``train``'s mapping with ``values`` written in (``lenet5.<name>`` into LeNet-5's own):
    a search trial's settings, in ``parameters_train.yml``'s shape."""
    merged = copy.deepcopy(dict(train))
    for name, value in values.items():
        if name.startswith("lenet5."):
            merged.setdefault("lenet5", {})[name.removeprefix("lenet5.")] = value
        else:
            merged[name] = value
    return merged


def train_parameters(
    train: Mapping[str, Any], **data_sizes: int | None
) -> MLPParameters | LeNet5Parameters:
    """The settings of the network ``train`` names (:func:`network_values`), checked.

    Raises:
        ParameterError: in one line, for a key or value that cannot work.
    """
    values = network_values(train)
    model = values.get("model", "mlp")
    if model not in NETWORKS:
        raise ParameterError(_Training.invalid("model", model, "one of " + ", ".join(NETWORKS)))
    return NETWORKS[model].check(values, **data_sizes)


#: Every ``train`` setting, either network's.
_TRAIN_FIELDS = {**LeNet5Parameters.model_fields, **MLPParameters.model_fields}


def train_field(name: str) -> Any:
    """The field of a ``train`` setting named as a search names it (``lenet5.<name>`` for
    LeNet-5's own), or ``None`` for no such setting."""
    network, _, field = name.rpartition(".")
    if network == "lenet5":
        return LeNet5Parameters.model_fields.get(field)
    return _TRAIN_FIELDS.get(field) if not network else None


#: The ``train`` settings a search may not vary: they do not change the model (resume,
#: implementation, eval_every: the search validates every ``tune.eval_every`` steps), or
#: varying them would only pick a lucky draw (seed).
NOT_SEARCHED = {"resume", "implementation", "eval_every", "seed"}


class SearchDimension(BaseModel):
    """One dimension of the search space: a range (``low``, ``high``, ``log``, ``step``) or
    ``choices``. Which kind of value (whole number, number, word) the train parameter says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = None


class TuneParameters(Parameters):
    """``parameters_tune.yml``: the search over the ``train`` parameters (docs, "Searching
    for a better model")."""

    namespace: ClassVar[str] = "tune"

    study_name: str = Field(min_length=1)
    trials: int | None = Field(ge=1)
    timeout_minutes: float | None = Field(gt=0, lt=math.inf)
    steps: int = Field(ge=1)
    eval_every: int = Field(ge=1)
    seed: int = Field(ge=0)
    worker: int = Field(ge=0)
    startup_trials: int = Field(ge=0)
    pruner: Literal["percentile", "none"]
    pruner_percentile: float = Field(gt=0, lt=100)
    pruner_startup_trials: int = Field(ge=0)
    pruner_warmup_steps: int = Field(ge=0)
    train_best: bool
    space: dict[str, SearchDimension]

    @model_validator(mode="after")
    def _has_a_budget(self) -> Self:
        if self.trials is None and self.timeout_minutes is None:
            raise ValueError(
                "Parameters tune.trials and tune.timeout_minutes are both null: set at least "
                "one, or the search never ends"
            )
        return self

    @model_validator(mode="after")
    def _searches_train_parameters(self) -> Self:
        for name, dimension in self.space.items():
            plain = name.removeprefix("lenet5.")
            if (
                train_field(name) is None
                or plain in NOT_SEARCHED
                or (plain == "model" and plain != name)
            ):
                allowed = sorted(set(_TRAIN_FIELDS) - NOT_SEARCHED)
                raise ValueError(
                    f"Parameter tune.space.{name} is invalid: the search varies train "
                    f"parameters, one of {', '.join(allowed)} (or lenet5.<name> for "
                    "LeNet-5's own)"
                )
            _check_dimension(name, dimension)
        return self


def _check_dimension(name: str, dimension: SearchDimension) -> None:
    """Raise, in one line, when ``dimension`` cannot be searched for train parameter ``name``."""
    where = f"Parameter tune.space.{name} is invalid"
    annotation = train_field(name).annotation
    field = name.removeprefix("lenet5.")
    ranged = dimension.low is not None or dimension.high is not None
    if (dimension.choices is not None) == ranged or (
        ranged and None in (dimension.low, dimension.high)
    ):
        raise ValueError(f"{where}: give either low and high, or choices")
    if dimension.choices is not None:
        if not dimension.choices:
            raise ValueError(f"{where}: its choices are empty")
        values = dimension.choices
    else:
        if annotation not in (int, float, int | None):
            raise ValueError(f"{where}: train.{field} takes choices, not a range")
        if not dimension.low < dimension.high:
            raise ValueError(
                f"{where}: its range is empty (low {dimension.low:g} is not below high "
                f"{dimension.high:g})"
            )
        if dimension.log and dimension.low <= 0:
            raise ValueError(f"{where}: a log scale needs low > 0, not {dimension.low:g}")
        if dimension.log and dimension.step is not None:
            raise ValueError(f"{where}: a range has either log or step, not both")
        whole = annotation is not float
        values = [
            int(v) if whole and float(v).is_integer() else v
            for v in (dimension.low, dimension.high)
        ]
    network = "lenet5" if name != field or field in _LENET5_ONLY else "mlp"
    for value in values:  # every value the search can try must be one train allows
        try:
            train_parameters(with_values({"model": network}, {name: value}))
        except ParameterError as exc:
            raise ValueError(f"{where}: {exc}") from None


class NonDigitParameters(BaseModel):
    """``evaluate.non_digits``: the non-digits drawn by a program."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0)


class EvaluateParameters(Parameters):
    """``parameters_evaluate.yml``."""

    namespace: ClassVar[str] = "evaluate"
    mistakes_to_show: int = Field(ge=0)
    non_digits: NonDigitParameters


class PredictParameters(Parameters):
    """``parameters_predict.yml``."""

    namespace: ClassVar[str] = "predict"
    box_size: int = Field(ge=1, le=28)
    ink_threshold: float = Field(gt=0, le=1)
    min_contrast: float = Field(ge=0, le=255)


class RegistryParameters(Parameters):
    """``parameters_registry.yml``: when a newly registered version becomes the champion."""

    namespace: ClassVar[str] = "registry"
    min_gain: float = Field(ge=-1, le=1)
    max_class_drop: float = Field(ge=0, le=1)
    class_recall_floor: float = Field(ge=0, le=1)
    max_shifted_drop: float = Field(ge=0, le=1)
    max_calibration_rise: float = Field(ge=0, le=1)
    smoke_images: int = Field(ge=1, le=5000)


class ServingParameters(Parameters):
    """``parameters_serving.yml``: what the served model is exported as, and accepts."""

    namespace: ClassVar[str] = "serving"
    exports: list[Literal["tf_saved_model", "onnx", "litert"]]
    max_request_images: int = Field(ge=1)
    max_image_bytes: int = Field(ge=1)
    max_image_pixels: int = Field(ge=1)
    reject_rate: float = Field(ge=0, lt=1)


class PredictionLogParameters(Parameters):
    """``parameters_monitoring.yml``'s ``prediction_log``: where and how every answer is
    logged (:mod:`mnist_pipeline.monitoring.prediction_log`)."""

    namespace: ClassVar[str] = "prediction_log"
    file: ClassVar[str] = "parameters_monitoring.yml"
    enabled: bool
    location: str = Field(min_length=1)
    flush_every: int = Field(ge=1, le=100_000)
    flush_seconds: float = Field(gt=0, le=3600)
    keep_images: bool


class MonitorParameters(Parameters):
    """``parameters_monitoring.yml``'s ``monitor``: the window and the drift thresholds."""

    namespace: ClassVar[str] = "monitor"
    file: ClassVar[str] = "parameters_monitoring.yml"
    window_hours: float = Field(gt=0)
    last_records: int | None = Field(default=None, ge=1)
    min_records: int = Field(ge=2)
    max_feature_distance: float = Field(gt=0)
    max_digit_mix_distance: float = Field(gt=0, le=1)
    max_rejection_rise: float = Field(gt=0, le=1)


#: namespace -> how its mapping is checked (``train``: for the network it names).
NAMESPACES: dict[str, Callable[..., Parameters]] = {
    "train": train_parameters,
    **{
        parameters.namespace: parameters.check
        for parameters in (
            IngestParameters,
            PreprocessParameters,
            EvaluateParameters,
            PredictParameters,
            TuneParameters,
            RegistryParameters,
            ServingParameters,
            PredictionLogParameters,
            MonitorParameters,
        )
    },
}


def check_parameters(
    parameters: Mapping[str, Any], namespaces: set[str], training_file_examples: int | None
) -> None:
    """Check the given namespaces of ``parameters``; ``training_file_examples`` is the
    number of examples in the raw training file when known (checks the split sizes)."""
    sizes: dict[str, int | None] = {"training_file_examples": training_file_examples}
    validation_size = (parameters.get("preprocess") or {}).get("validation_size")
    if training_file_examples is not None and isinstance(validation_size, int):
        sizes["training_examples"] = training_file_examples - validation_size
    for namespace in sorted(namespaces & set(NAMESPACES)):
        NAMESPACES[namespace](parameters.get(namespace) or {}, **sizes)


class ParameterCheckHook:
    """Before a run (and before kedro-mlflow opens an MLflow run), check the parameter
    namespaces its nodes use (``params:<namespace>...``): a setting that cannot work stops
    the run with one message, no data read, no run recorded."""

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline, catalog) -> None:
        """Check every namespace the pipeline's nodes take parameters from."""
        namespaces = {
            name.removeprefix("params:").split(".")[0]
            for name in pipeline.inputs()
            if name.startswith("params:")
        }
        if not namespaces:
            return
        parameters = catalog.get("parameters").load()  # the merged parameters, not data
        check_parameters(parameters, namespaces, _training_file_examples(catalog))


def _training_file_examples(catalog) -> int | None:
    """How many examples the raw training labels file declares, from its header alone."""
    if TRAINING_LABELS_DATASET not in catalog:
        return None
    peek_shape = getattr(catalog.get(TRAINING_LABELS_DATASET), "peek_shape", None)
    shape = peek_shape() if peek_shape is not None else None
    return shape[0] if shape else None
