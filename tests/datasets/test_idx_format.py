"""IDX encoding and decoding: round trips and every malformed input we know of."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mnist_pipeline.datasets.idx_dataset import IDXFormatError, decode_idx, decompress

from ..idx_files import encode_idx

IDX_DTYPES = st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"])


@given(
    hnp.arrays(
        dtype=IDX_DTYPES.map(np.dtype),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6),
        elements={"allow_nan": False},
    )
)
def test_decoding_what_the_format_describes_gives_the_array_back(array):
    decoded = decode_idx(encode_idx(array))
    assert decoded.dtype == array.dtype.newbyteorder("=")
    assert decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)


def test_the_published_layout_is_read_big_endian():
    data = b"\x00\x00\x0c\x02" + struct.pack(">2I", 2, 1) + b"\x00\x00\x00\x01\x00\x00\x01\x00"
    np.testing.assert_array_equal(decode_idx(data), np.array([[1], [256]], dtype=np.int32))


def test_decompress_passes_plain_bytes_through_and_unzips_gzip():
    data = encode_idx(np.arange(5, dtype=np.uint8))
    assert decompress(data) == data
    assert decompress(gzip.compress(data)) == data


def test_truncated_gzip_is_reported():
    data = gzip.compress(encode_idx(np.arange(1000, dtype=np.int32)))
    with pytest.raises(IDXFormatError, match="truncated"):
        decompress(data[: len(data) // 2])


def test_wrong_magic_number_is_reported():
    data = bytearray(encode_idx(np.arange(5, dtype=np.uint8)))
    data[0] = 0x1A
    with pytest.raises(IDXFormatError, match="wrong magic number"):
        decode_idx(bytes(data))


def test_unknown_type_code_is_reported():
    data = bytearray(encode_idx(np.arange(5, dtype=np.uint8)))
    data[2] = 0x0A
    with pytest.raises(IDXFormatError, match="unknown IDX type code 0x0A"):
        decode_idx(bytes(data))


def test_header_declaring_more_items_than_the_file_holds_is_reported():
    data = encode_idx(np.arange(10, dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"shape \(10,\).*holds only 9.*truncated"):
        decode_idx(data[:-1])


def test_extra_bytes_after_the_data_are_reported():
    with pytest.raises(IDXFormatError, match="1 bytes more"):
        decode_idx(encode_idx(np.arange(10, dtype=np.uint8)) + b"\x00")


def test_file_shorter_than_a_header_is_reported():
    with pytest.raises(IDXFormatError, match="too few"):
        decode_idx(b"\x00\x00")
