"""The compiled training loop: the seed's SGD + L2 + moving-average steps, made fast.

Four things make a step cheap without changing its math:

- Up to :data:`MAX_STEPS_PER_CALL` steps run inside one compiled call, with the data
  resident as tensors and every per-step scalar computed on the host beforehand, so
  Python is out of the inner loop.
- Each variable's SGD step, L2 decay and moving average are one fused kernel pass
  (:mod:`.fused_update`); the gradients are written out rather than taken with
  ``GradientTape``, since the fused softmax cross-entropy kernel already returns
  d(loss)/d(logits).
- Input features that are zero in every training example (69 of MNIST's 784 pixels,
  the border) are left out of the two large matrix products. They add nothing to the
  hidden layer and their weights get no gradient: those weights only shrink by the L2
  decay and are averaged, which is applied in closed form at the end of each call.
- The hidden units can be split into shards (:attr:`FusedTrainer.shards`), each with its
  own slices of the first layer's weights and biases and of the second layer's weights.
  Every shard's products, activations and updates depend only on the shared batch and
  d(loss)/d(logits), so TensorFlow runs the shards side by side on its inter-op threads,
  each op on one core (:func:`.threads.configure_for_shards`): a single chain of
  multi-threaded ops leaves cores idle during its many small ops, and every split of an
  op costs a hand-off. The number of shards changes only the order of float additions
  (the logits sum the shards' parts), not the math.

With ``train.precision: mixed_bfloat16`` the two large products (the first layer's,
forward and back) read bfloat16 batches and weights (:mod:`.precision`); the small
products with the 10 logits stay float32, where a cast would cost more than it saves.

The learning rates and moving-average decays come from :mod:`.schedules`. The plain form
of the same step is :mod:`.reference_step`: read it first. ``tests/training/test_mlp.py``
checks these steps against a NumPy computation of the seed's formulas, including a
feature that is always zero and shards of unequal size, and
``tests/training/test_reference_step.py`` checks them against the plain step.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from .augmentation import Augmentation
from .fused_update import fused_coefficients, stretches
from .mlp import AveragedMLP
from .precision import matmul
from .schedules import Schedule

#: Longest stretch of steps in one compiled call.
MAX_STEPS_PER_CALL = 1_000


@dataclasses.dataclass(frozen=True)
class TrainingInputs:
    """The training set as the compiled loop reads it: resident, used features only."""

    features: tf.Tensor  #: (examples, used features) float32
    labels: tf.Tensor  #: (examples,) int32 class ids
    used_features: tf.Tensor  #: (used features,) int32 columns of the full inputs

    @classmethod
    def from_arrays(
        cls, x: np.ndarray, class_ids: np.ndarray, every_feature: bool = False
    ) -> TrainingInputs:
        """Keep the columns of ``x`` that are non-zero in at least one example (all of them
        with ``every_feature``: distorted images have ink anywhere)."""
        used = np.flatnonzero(x.any(axis=0) | every_feature).astype(np.int32)
        features = _aligned_empty((x.shape[0], len(used)), np.float32)
        # np.take, faster than fancy indexing x[:, used]; mode="clip" (the indices are
        # valid anyway) writes straight into ``features``, not via a buffer.
        np.take(x.astype(np.float32, copy=False), used, axis=1, out=features, mode="clip")
        return cls(
            features=tf.experimental.dlpack.from_dlpack(features.__dlpack__()),
            labels=tf.constant(class_ids, tf.int32),
            used_features=tf.constant(used),
        )


def _aligned_empty(shape: tuple[int, ...], dtype, alignment: int = 64) -> np.ndarray:
    """An uninitialised array whose data starts on an ``alignment``-byte boundary.

    TensorFlow adopts such a NumPy buffer through DLPack without copying it (it aborts
    on unaligned ones); ``tf.constant`` would copy the 55,000 x 715 training set into
    fresh memory once more, mostly paying for first-touch page faults.
    """
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + alignment, dtype=np.uint8)
    offset = -raw.ctypes.data % alignment
    return raw[offset : offset + size].view(dtype).reshape(shape)


@dataclasses.dataclass(frozen=True)
class _Shard:
    """A slice of the hidden units: the buffers ``P`` and ``Q`` (:mod:`.fused_update`)
    of its first-layer weights (used input rows only), first-layer biases and
    second-layer weights. They are working copies, not attributes of the model, so
    checkpoints of the model do not hold them."""

    units: slice
    buffers: tuple[tf.Variable, tf.Variable, tf.Variable]  #: P of weights1, biases1, weights2
    averages: tuple[tf.Variable, tf.Variable, tf.Variable]  #: Q of the same

    @classmethod
    def zeros(cls, units: slice, rows: int, classes: int) -> _Shard:
        width = units.stop - units.start
        shapes = ([rows, width], [width], [width, classes])

        def working():
            return tuple(tf.Variable(tf.zeros(shape), trainable=False) for shape in shapes)

        return cls(units, working(), working())


def shard_bounds(hidden_units: int, shards: int) -> list[slice]:
    """Split ``hidden_units`` into ``shards`` contiguous slices of (nearly) equal size."""
    if not 1 <= shards <= hidden_units:
        raise ValueError(f"shards must be in [1, {hidden_units}], got {shards}")
    edges = np.linspace(0, hidden_units, shards + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


class FusedTrainer:
    """Runs training steps on ``model`` over ``inputs``, the hidden units in ``shards``."""

    def __init__(
        self,
        model: AveragedMLP,
        inputs: TrainingInputs,
        schedule: Schedule | None = None,
        shards: int = 1,
        augmentation: Augmentation | None = None,
    ) -> None:
        """Prepare the working buffers of each shard of hidden units; ``schedule`` gives
        each step's learning rate and moving-average decay (:meth:`train_steps`);
        ``augmentation`` distorts each step's batch (``inputs`` must then keep every
        feature)."""
        self.model = model
        self.inputs = inputs
        self.schedule = schedule
        self.augmentation = augmentation if augmentation and augmentation.enabled else None
        rows = int(inputs.used_features.shape[0])
        hidden, classes = (int(n) for n in model.weights[2].shape)
        self.shards = [_Shard.zeros(units, rows, classes) for units in shard_bounds(hidden, shards)]
        # In mixed precision the batches are gathered as bfloat16, the dtype of the two
        # large products that read them (the 10-wide products stay float32); distorted
        # batches are made in float32 and cast then.
        self.features = (
            inputs.features
            if self.augmentation is not None
            else tf.cast(inputs.features, model.compute_dtype)
        )

    def learning_rate(self, step: int) -> float:
        """The learning rate of step ``step``."""
        return float(self.schedule.learning_rates(np.array([step]))[0])

    def train_steps(self, batch_indices: np.ndarray) -> float:
        """Run ``len(batch_indices)`` steps from the model's global step, at the rates and
        decays of :attr:`schedule`; return the training loss (:meth:`run_steps`)."""
        first = int(self.model.global_step.numpy())
        steps = np.arange(first, first + len(batch_indices))
        return self.run_steps(
            batch_indices, self.schedule.learning_rates(steps), self.schedule.ema_decays(steps)
        )

    def run_steps(
        self, batch_indices: np.ndarray, learning_rates: np.ndarray, ema_decays: np.ndarray
    ) -> float:
        """Run ``len(batch_indices)`` steps at the given rates and decays; return the loss.

        The loss is the mean cross-entropy over the steps' batches plus the L2 penalty
        of the weights after the last step: the penalty moves slowly, and computing it
        at every step would cost an extra pass over the weights per step.

        Args:
            batch_indices: (steps, batch_size) rows of the training set for each step.
            learning_rates: (steps,) the rate of each step.
            ema_decays: (steps,) the moving-average decay after each step.
        """
        batch_indices = np.asarray(batch_indices, dtype=np.int32)
        learning_rates, ema_decays = np.asarray(learning_rates), np.asarray(ema_decays)
        regularization = self.model.regularization_rate
        cross_entropy_sum, penalty = 0.0, 0.0
        for stretch in stretches(ema_decays, MAX_STEPS_PER_CALL):
            rates, decays = learning_rates[stretch], ema_decays[stretch]
            fused = fused_coefficients(rates, decays, regularization)
            final_scales = [
                fused.final_weight_scale,
                fused.final_bias_scale,
                fused.final_average_scale,
                fused.idle_weight_factor,
                fused.idle_average_from_weight,
            ]
            cross_entropy, penalty = self._compiled_steps(
                tf.constant(batch_indices[stretch]),
                tf.constant(fused.per_step),
                tf.constant(final_scales, tf.float32),
                self.model.global_step.read_value(),
            )
            cross_entropy_sum += float(cross_entropy) * (stretch.stop - stretch.start)
        return cross_entropy_sum / len(ema_decays) + float(penalty)

    def _load_shards(self) -> None:
        """Start a stretch with ``P = W`` and ``Q = S`` in every shard."""
        weights1, biases1, weights2, _ = self.model.weights
        average_weights1, average_biases1, average_weights2, _ = self.model.averages
        used = self.inputs.used_features
        used_weights1 = tf.gather(weights1, used)
        used_average_weights1 = tf.gather(average_weights1, used)
        for shard in self.shards:
            units = shard.units
            sources = (
                (used_weights1[:, units], biases1[units], weights2[units]),
                (used_average_weights1[:, units], average_biases1[units], average_weights2[units]),
            )
            for targets, values in zip((shard.buffers, shard.averages), sources, strict=True):
                for target, value in zip(targets, values, strict=True):
                    target.assign(value)

    def _joined(self, part: str, index: int) -> tf.Tensor:
        """Buffer ``index`` (weights1, biases1, weights2) of every shard, side by side."""
        pieces = [getattr(shard, part)[index] for shard in self.shards]
        axis = 0 if index == 2 else -1  # weights2 is split along its rows
        return pieces[0] if len(pieces) == 1 else tf.concat(pieces, axis=axis)

    @tf.function(autograph=False, reduce_retracing=True)
    def _compiled_steps(
        self,
        batch_indices: tf.Tensor,
        per_step: tf.Tensor,
        final_scales: tf.Tensor,
        first_step: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """One stretch of steps; the mean cross-entropy and the L2 penalty after it.

        During the call the shards hold the buffers ``P`` / ``Q`` of the first layer's
        used rows, the first-layer biases and the second-layer weights; the second-layer
        biases and their average hold their own ``P`` / ``Q`` in place
        (:mod:`.fused_update`).
        """
        model, inputs, shards = self.model, self.inputs, self.shards
        dtype = model.compute_dtype  # of the products (:mod:`.precision`)
        weights1, biases1, weights2, biases2 = model.weights
        average_weights1, average_biases1, average_weights2, average_biases2 = model.averages
        used = inputs.used_features
        self._load_shards()
        num_steps = tf.shape(batch_indices)[0]
        batch_size = tf.cast(tf.shape(batch_indices)[1], tf.float32)

        def batch(i):
            i = tf.minimum(i, num_steps - 1)
            rows = batch_indices[i]
            x = tf.gather(self.features, rows)
            if self.augmentation is not None:  # step first_step + i's distortions
                x = tf.cast(self.augmentation(x, first_step + tf.cast(i, tf.int64)), dtype)
            return x, tf.gather(inputs.labels, rows)

        def step(i, cross_entropy_sum, batch_x, batch_labels):
            (
                scale,
                bias_ratio,
                momentum,
                gradient_scale,
                bias_gradient_ratio,
                weight_rate,
                bias_rate,
            ) = tf.unstack(per_step[i])
            # W = scale * P with scale > 0, so the hidden layer is scale * relu(z): the
            # scale is carried on the 100x10 side instead of the 100x500 activations.
            relu_z = [
                tf.nn.relu(
                    tf.nn.bias_add(
                        matmul(batch_x, shard.buffers[0], dtype), bias_ratio * shard.buffers[1]
                    )
                )
                for shard in shards
            ]
            partial_logits = [
                tf.matmul(z, shard.buffers[2]) for z, shard in zip(relu_z, shards, strict=True)
            ]
            # The next batch is gathered while the small ops between the large products
            # leave a core free; started earlier, it would delay this step's products.
            with tf.control_dependencies(relu_z):
                next_x, next_labels = batch(i + 1)
            logits = tf.nn.bias_add(
                (scale * scale) * tf.add_n(partial_logits), (scale * bias_ratio) * biases2
            )
            cross_entropy, d_logits = tf.raw_ops.SparseSoftmaxCrossEntropyWithLogits(
                features=logits, labels=batch_labels
            )
            # h = -c * d(loss)/d(logits), the loss being the batch mean.
            d_logits *= gradient_scale * (-1.0 / batch_size)
            d_logits_scaled = scale * d_logits
            applied = [
                tf.raw_ops.ResourceApplyMomentum(
                    var=average_biases2.handle,
                    accum=biases2.handle,
                    lr=bias_rate,
                    grad=bias_gradient_ratio * tf.reduce_sum(d_logits, axis=0),
                    momentum=momentum,
                )
            ]
            for shard, z in zip(shards, relu_z, strict=True):
                d_pre = tf.raw_ops.ReluGrad(
                    gradients=tf.matmul(d_logits_scaled, shard.buffers[2], transpose_b=True),
                    features=z,
                )
                updates = (
                    matmul(batch_x, d_pre, dtype, transpose_a=True),
                    bias_gradient_ratio * tf.reduce_sum(d_pre, axis=0),
                    tf.matmul(z, d_logits_scaled, transpose_a=True),
                )
                applied.extend(
                    tf.raw_ops.ResourceApplyMomentum(
                        var=average.handle,
                        accum=buffer.handle,
                        lr=rate,
                        grad=update,
                        momentum=momentum,
                    )
                    for buffer, average, update, rate in zip(
                        shard.buffers,
                        shard.averages,
                        updates,
                        (weight_rate, bias_rate, weight_rate),
                        strict=True,
                    )
                )
            with tf.control_dependencies(applied):
                cross_entropy_sum += tf.reduce_sum(cross_entropy)
                return i + 1, cross_entropy_sum, next_x, next_labels

        _, cross_entropy_sum, _, _ = tf.while_loop(
            lambda i, *_: i < num_steps, step, (tf.constant(0), tf.constant(0.0), *batch(0))
        )
        (weight_scale, bias_scale, average_scale, idle_weight, idle_average_from_weight) = (
            tf.unstack(final_scales)
        )
        rows = used[:, tf.newaxis]
        # Used rows from P and Q; the others only decayed and were averaged.
        new_weights1 = tf.tensor_scatter_nd_update(
            idle_weight * weights1, rows, weight_scale * self._joined("buffers", 0)
        )
        new_average_weights1 = tf.tensor_scatter_nd_update(
            average_scale * average_weights1 + idle_average_from_weight * weights1,
            rows,
            average_scale * self._joined("averages", 0),
        )
        weights1.assign(new_weights1)
        average_weights1.assign(new_average_weights1)
        biases1.assign(bias_scale * self._joined("buffers", 1))
        weights2.assign(weight_scale * self._joined("buffers", 2))
        biases2.assign(bias_scale * biases2)
        average_biases1.assign(average_scale * self._joined("averages", 1))
        average_weights2.assign(average_scale * self._joined("averages", 2))
        average_biases2.assign(average_scale * average_biases2)
        model.global_step.assign_add(tf.cast(num_steps, tf.int64))
        penalty = model.regularization_rate * (tf.nn.l2_loss(weights1) + tf.nn.l2_loss(weights2))
        return cross_entropy_sum / (tf.cast(num_steps, tf.float32) * batch_size), penalty
