"""Mixed precision: the matrix products and convolutions in bfloat16, all else float32.

With ``train.precision: mixed_bfloat16`` the training steps cast the two operands of each
large product (and of each convolution) to bfloat16 and its result back to float32;
oneDNN accumulates in float32 inside the product. Only the products: the activations
between them stay float32 (Keras' ``mixed_bfloat16`` policy would keep them in bfloat16,
faster and less accurate; docs, "Mixed precision"). Variables, gradients' application,
L2, the schedules, the moving averages, checkpoints and the saved model stay float32, so
a model trained in mixed precision is saved, evaluated and served like any other.
bfloat16 keeps float32's exponent with an 8-bit mantissa: each rounded operand is off by
at most 2**-9 of its value (relative), which is the scale of the differences the tests
allow between a mixed and a float32 step.

``float32`` (the default) is the seed's exact math: the helpers are then plain products.
"""

from __future__ import annotations

import logging
from pathlib import Path

import tensorflow as tf

logger = logging.getLogger(__name__)

#: ``train.precision`` -> the dtype the products are computed in.
COMPUTE_DTYPES = {"float32": tf.float32, "mixed_bfloat16": tf.bfloat16}
#: CPU flags (``/proc/cpuinfo``) of a fast bfloat16 path: AMX tiles or AVX-512 BF16.
FAST_BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")


def compute_dtype(precision: str) -> tf.DType:
    """The dtype of the products for ``train.precision``."""
    return COMPUTE_DTYPES[precision]


def matmul(a: tf.Tensor, b: tf.Tensor, dtype: tf.DType = tf.float32, **kwargs) -> tf.Tensor:
    """``a @ b`` computed in ``dtype``, returned as float32."""
    if dtype == tf.float32:
        return tf.matmul(a, b, **kwargs)
    return tf.cast(tf.matmul(tf.cast(a, dtype), tf.cast(b, dtype), **kwargs), tf.float32)


def conv2d(x: tf.Tensor, filters: tf.Tensor, dtype: tf.DType = tf.float32, **kwargs) -> tf.Tensor:
    """``tf.nn.conv2d(x, filters)`` computed in ``dtype``, returned as float32."""
    if dtype == tf.float32:
        return tf.nn.conv2d(x, filters, **kwargs)
    return tf.cast(tf.nn.conv2d(tf.cast(x, dtype), tf.cast(filters, dtype), **kwargs), tf.float32)


def fast_bfloat16_available(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this machine multiplies bfloat16 quickly: a GPU that TensorFlow uses
    (which have had a bfloat16 path since NVIDIA Ampere), or a CPU with AMX or AVX-512
    BF16."""
    if tf.config.list_physical_devices("GPU"):
        return True
    try:
        flags = cpuinfo.read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in FAST_BFLOAT16_FLAGS)


def announce(precision: str) -> None:
    """Say, in one line, when mixed precision will be slow here (it still runs)."""
    if precision == "mixed_bfloat16" and not fast_bfloat16_available():
        logger.warning(
            "train.precision=mixed_bfloat16: this machine has no fast bfloat16 path (no GPU, "
            "no AMX or AVX-512 BF16 CPU flags), so training runs emulated and slower than "
            "float32; the results are the same. Use train.precision=float32 here."
        )
