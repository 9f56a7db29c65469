"""Encode and decode the IDX format of the MNIST files (no I/O here, only bytes).

IDX, as described on the MNIST page: two zero bytes, a type code, the number of
dimensions ``n``, then ``n`` big-endian 32-bit sizes, then the values in C order,
big-endian. Files are often gzip-compressed; :func:`decompress` takes either form.
"""

from __future__ import annotations

import gzip
import struct
import zlib

import numpy as np

#: IDX type code -> NumPy dtype of the stored (big-endian) values.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_BY_KIND = {(dtype.kind, dtype.itemsize): code for code, dtype in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """The bytes are not a valid IDX file; the message says what is wrong."""


def decompress(raw: bytes) -> bytes:
    """Return the IDX bytes from a gzip-compressed or plain file's contents."""
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:
        raise IDXFormatError(f"the gzip stream is truncated ({exc})") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise IDXFormatError(f"the gzip stream is corrupt ({exc})") from exc


#: The longest possible header: 4 bytes, then 4 per dimension (at most 255).
MAX_HEADER_BYTES = 4 + 4 * 255


def parse_header(data: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """The values' dtype, the declared shape and the header's length, from the first
    bytes of an IDX file (at most :data:`MAX_HEADER_BYTES` are needed)."""
    if len(data) < 4:
        raise IDXFormatError(f"the file holds {len(data)} bytes, too few for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IDXFormatError(
            f"wrong magic number 0x{data[:4].hex()}: an IDX file starts with two zero bytes"
        )
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise IDXFormatError(f"unknown IDX type code 0x{type_code:02X} (known: {known})")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IDXFormatError(f"the header declares {ndim} dimensions but the file ends inside it")
    return IDX_TYPES[type_code], struct.unpack(f">{ndim}I", data[4:header_size]), header_size


def decode_idx(data: bytes) -> np.ndarray:
    """Parse IDX bytes into an array of the declared type (native byte order) and shape."""
    dtype, shape, header_size = parse_header(data)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    available = len(data) - header_size
    if available < expected:
        raise IDXFormatError(
            f"the header declares shape {shape} ({expected} bytes of data) "
            f"but the file holds only {available}: it is truncated"
        )
    if available > expected:
        raise IDXFormatError(
            f"the header declares shape {shape} ({expected} bytes of data) "
            f"but the file holds {available - expected} bytes more"
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header_size)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def encode_idx(array: np.ndarray) -> bytes:
    """Serialise an array of an IDX-representable dtype to IDX bytes (uncompressed)."""
    array = np.asarray(array)
    code = _CODE_BY_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise IDXFormatError(
            f"dtype {array.dtype} has no IDX type code; use uint8, int8, int16, int32, "
            "float32 or float64"
        )
    if array.ndim > 255:
        raise IDXFormatError(f"IDX holds at most 255 dimensions, got {array.ndim}")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
