"""IDX files written by the tests (the project itself only reads IDX)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from mnist_pipeline.datasets.idx_dataset import IDX_TYPES

_CODE_BY_KIND = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_TYPES.items()}


def encode_idx(array: np.ndarray) -> bytes:
    """``array`` as IDX bytes (uncompressed), as the MNIST page describes the format."""
    array = np.asarray(array)
    code = _CODE_BY_KIND[(array.dtype.kind, array.dtype.itemsize)]
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed when the name ends in ``.gz``."""
    payload = encode_idx(array)
    if path.suffix == ".gz":
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    path.write_bytes(payload)
    return path
