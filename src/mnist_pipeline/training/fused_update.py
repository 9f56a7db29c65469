"""SGD with L2 decay and the moving average of the weights, in one kernel per variable.

After each batch the seed updates every weight matrix ``W`` and its average ``S`` as

    W <- r W - lr g          with r = 1 - lr * regularization_rate   (SGD on loss + L2)
    S <- d S + (1 - d) W     (the moving average, of the updated weights)

and every bias the same way with ``r = 1``. Written out, that is four or five
element-wise passes over the 784x500 first-layer weights per step, a large part of a
step beside its two large matrix products. The training loop instead keeps
two buffers per variable, ``P`` and ``Q``, with

    W = alpha P      and      S = beta Q

for scalars ``alpha``, ``beta`` that the host tracks, and updates both buffers in a single
pass with TensorFlow's fused momentum kernel (``ResourceApplyMomentum``, ``accum = P``,
``var = Q``):

    P <- m P + c h ;   Q <- Q - lam P          with h = -g, the negated gradient.

For step ``t`` (learning rate ``lr``, decay ``d``) the host picks ``m`` as a float32 and
then sets, from the ``m`` actually used,

    alpha' = r alpha / m,   c = lr / alpha',   beta' = d beta,   lam = -(1 - d) alpha' / beta'

which reproduces both updates:

    alpha' P' = r alpha P + alpha' c h = r W - lr g = W'
    beta' Q'  = d beta Q - beta' lam P' = d S + (1 - d) W'

Because ``alpha`` follows the float32 momentum the kernel really multiplies by, the
rounding of ``m`` does not compound over the steps into a drift of the weight decay; the
remaining float32 roundings (``c``, ``lam``, the forward scale) act on one step each, like
the rounding of the learning rate in the seed. Weights and biases share ``m`` (one
multiply by ``c`` folded into d(loss)/d(logits) serves both); their ``alpha`` differ by
their ``r``, so the biases' gradient and forward scales are passed as ratios.

A stretch of steps starts from ``P = W``, ``Q = S`` (``alpha = beta = 1``) and ends with
``W = alpha P``, ``S = beta Q``. ``beta`` is the product of the decays, so it shrinks fast
(to about 4e-22 over the first 1,000 steps, when the decay starts at 0.1); stretches end
before it would drop below :data:`MIN_AVERAGE_SCALE`, far inside float32's range.

This module is NumPy only: the coefficients are computed in float64 on the host and
handed to the compiled loop as one float32 array; ``tests/training/test_fused_update.py``
replays the updates with them against the plain formulas.
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: A stretch of fused steps ends before the average's scale ``beta`` drops below this.
MIN_AVERAGE_SCALE = 1e-30

#: Columns of :attr:`FusedCoefficients.per_step`, in order.
COLUMNS = (
    "weight_scale",  # alpha of the weight matrices before the step: forward uses alpha P
    "bias_scale_ratio",  # alpha of the biases / alpha of the weights
    "momentum",  # m, for every variable
    "gradient_scale",  # c of the weight matrices
    "bias_gradient_ratio",  # c of the biases / c of the weights
    "weight_average_rate",  # lam of the weight matrices
    "bias_average_rate",  # lam of the biases
)


@dataclasses.dataclass(frozen=True)
class FusedCoefficients:
    """The scalars of one stretch of fused steps: ``per_step`` is (steps, len(COLUMNS))
    float32; after the stretch the weight matrices are ``final_weight_scale * P``, the
    biases ``final_bias_scale * P`` and every average ``final_average_scale * Q``.

    Weights that get no gradient (inputs that are always zero) skip the fused kernel:
    the seed's updates with a zero gradient compose to ``W_end = idle_weight_factor * W``
    and ``S_end = final_average_scale * S + idle_average_from_weight * W``.
    """

    per_step: np.ndarray
    final_weight_scale: float
    final_bias_scale: float
    final_average_scale: float
    idle_weight_factor: float
    idle_average_from_weight: float


def fused_coefficients(
    learning_rates: np.ndarray, ema_decays: np.ndarray, regularization_rate: float
) -> FusedCoefficients:
    """Coefficients for a stretch of steps with these learning rates and EMA decays.

    Each step must shrink the weights by less than all (learning rate x regularization
    rate below 1), which the ``train`` parameters guarantee
    (:data:`mnist_pipeline.parameters.TrainParameters`).

    Raises:
        ValueError: if a learning rate or decay is not positive, or the average's scale
            would fall below :data:`MIN_AVERAGE_SCALE` (split with :func:`stretches`).
    """
    lr = np.asarray(learning_rates, dtype=np.float64)
    decay = np.asarray(ema_decays, dtype=np.float64)
    if lr.shape != decay.shape or lr.ndim != 1 or len(lr) == 0:
        raise ValueError("learning_rates and ema_decays must be equal-length, non-empty 1-d arrays")
    if (lr <= 0).any() or (decay <= 0).any():
        raise ValueError("learning rates and moving-average decays must be positive")
    if len(lr) > 1 and np.prod(decay) < MIN_AVERAGE_SCALE:
        raise ValueError("stretch too long for float32: split it with stretches()")
    per_step = np.empty((len(lr), len(COLUMNS)), dtype=np.float64)
    weight_scale = bias_scale = average_scale = idle_weight = 1.0
    idle_average_from_weight = 0.0
    for t, (rate, d) in enumerate(zip(lr, decay, strict=True)):
        keep = 1.0 - rate * regularization_rate
        idle_weight *= keep
        idle_average_from_weight = d * idle_average_from_weight + (1.0 - d) * idle_weight
        momentum = float(np.float32(keep * weight_scale / rate))  # what the kernel uses
        next_weight_scale = keep * weight_scale / momentum
        next_bias_scale = bias_scale / momentum
        average_scale *= d
        per_step[t] = (
            weight_scale,
            bias_scale / weight_scale,
            momentum,
            rate / next_weight_scale,
            next_weight_scale / next_bias_scale,
            -(1.0 - d) * next_weight_scale / average_scale,
            -(1.0 - d) * next_bias_scale / average_scale,
        )
        weight_scale, bias_scale = next_weight_scale, next_bias_scale
    return FusedCoefficients(
        per_step=per_step.astype(np.float32),
        final_weight_scale=weight_scale,
        final_bias_scale=bias_scale,
        final_average_scale=average_scale,
        idle_weight_factor=idle_weight,
        idle_average_from_weight=idle_average_from_weight,
    )


def stretches(ema_decays: np.ndarray, max_length: int) -> list[slice]:
    """Split steps into stretches of at most ``max_length`` steps whose product of
    decays stays at or above :data:`MIN_AVERAGE_SCALE` (a step is never split)."""
    decay = np.asarray(ema_decays, dtype=np.float64)
    pieces, start, product = [], 0, 1.0
    for index, value in enumerate(decay):
        product *= value
        if index > start and (index - start >= max_length or product < MIN_AVERAGE_SCALE):
            pieces.append(slice(start, index))
            start, product = index, value
    if len(decay):
        pieces.append(slice(start, len(decay)))
    return pieces
