"""IDX files (the MNIST format), verified on every load, downloaded when missing.

IDX, as described on the MNIST page: two zero bytes, a type code, the number of
dimensions ``n``, then ``n`` big-endian 32-bit sizes, then the values in C order,
big-endian. Files are often gzip-compressed; :func:`decompress` takes either form. The
raw files are inputs only: the project never writes IDX.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from kedro.io import DatasetError

from mnist_pipeline.errors import DataFileError

from .download import DownloadError, download_first_verified
from .storage import FileDataset

#: IDX type code -> NumPy dtype of the stored (big-endian) values.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
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


class ChecksumError(ValueError):
    """The decompressed bytes do not have the SHA-256 the catalog declares."""


class IDXDataset(FileDataset):
    """Loads one IDX file, plain or gzip-compressed.

    ``load`` returns an array of the type and shape that the file's header declares. When
    ``sha256`` is given, the SHA-256 of the *decompressed* bytes is checked on every load,
    so a corrupted or substituted file is never used silently. When the file is missing and
    ``mirrors`` are given, it is downloaded from the first mirror that serves a verified
    copy (HTTPS only, with a timeout, written atomically).

    Example catalog entry::

        mnist_train_images:
          type: mnist_pipeline.datasets.IDXDataset
          filepath: data/01_raw/train-images-idx3-ubyte.gz
          sha256: ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
          mirrors:
            - https://storage.googleapis.com/cvdf-datasets/mnist/

    Another data set in the same format (Fashion-MNIST, say) needs only another entry:
    other paths, other checksums (or none), other mirrors.
    """

    def __init__(
        self,
        filepath: str,
        sha256: str | None = None,
        mirrors: Sequence[str] | None = None,
        remote_name: str | None = None,
        timeout: float = 30.0,
        optional: bool = False,
        **file_args: Any,
    ) -> None:
        """Create the dataset.

        Args:
            filepath: The file, a local path or an fsspec URL.
            sha256: Expected SHA-256 (hex) of the decompressed bytes; ``None`` skips the check.
            mirrors: Base URLs tried in order when the file is missing; each is joined
                with ``remote_name``.
            remote_name: File name on the mirrors; defaults to the name of ``filepath``.
            timeout: Seconds to wait for a mirror before trying the next one.
            optional: A file that is not there loads as ``None`` (a data set that may not be
                installed), instead of being downloaded or an error.
            **file_args: ``credentials``, ``fs_args``, ``metadata`` (:class:`.storage.FileDataset`).
        """
        super().__init__(filepath, **file_args)
        self._optional = optional
        self._sha256 = sha256.lower() if sha256 else None
        self._mirrors = list(mirrors or [])
        self._remote_name = remote_name or self._location.name
        self._timeout = float(timeout)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "sha256": self._sha256, "mirrors": self._mirrors}

    def _verified_array(self, raw: bytes) -> np.ndarray:
        """Decompress, checksum and decode ``raw``; raise with what is wrong."""
        data = decompress(raw)
        if self._sha256 is not None:
            actual = hashlib.sha256(data).hexdigest()
            if actual != self._sha256:
                raise ChecksumError(
                    f"SHA-256 of the decompressed bytes is {actual}, "
                    f"but the catalog expects {self._sha256}"
                )
        return decode_idx(data)

    def _download(self) -> None:
        if not self._mirrors:
            raise DataFileError(
                f"IDX file {self._location} does not exist and the catalog lists no mirrors "
                f"for it: put the file there by hand (plain or .gz)."
            )
        if self._sha256 is None:
            raise DataFileError(
                f"IDX file {self._location} does not exist, and it will not be downloaded "
                "because the catalog gives no sha256 to verify the download with: add its "
                "checksum to the catalog entry, or put the file there by hand."
            )
        urls = [f"{mirror.rstrip('/')}/{self._remote_name}" for mirror in self._mirrors]
        try:
            download_first_verified(urls, self._location, self._verified_array, self._timeout)
        except DownloadError as exc:
            raise DataFileError(
                f"IDX file {self._location} is missing and {exc}\n"
                f"Without network access, copy the file by hand to {self._location} "
                f"(for MNIST: the four *-ubyte.gz files into {self._location.sibling('')})."
            ) from exc

    def peek_shape(self) -> tuple[int, ...] | None:
        """The shape the file's header declares, reading only the header; ``None`` when the
        file is missing or has no readable header (``load`` then says what is wrong)."""
        try:
            if not self._location.is_file():
                return None
            with self._location.fs.open(str(self._location.path), "rb") as raw:
                gzipped = raw.read(2) == b"\x1f\x8b"
                raw.seek(0)
                handle = gzip.GzipFile(fileobj=raw) if gzipped else raw
                return parse_header(handle.read(MAX_HEADER_BYTES))[1]
        except (OSError, EOFError, IDXFormatError):
            return None

    def load(self) -> np.ndarray | None:
        """Read, verify and decode the file, downloading it first when it is missing
        (``None`` for a missing ``optional`` file)."""
        if not self._location.is_file():
            if self._optional:
                return None
            self._download()
        try:
            return self._verified_array(self._location.read_bytes())
        except (IDXFormatError, ChecksumError) as exc:
            raise DataFileError(
                f"IDX file {self._location} is not usable: {exc}. "
                "Replace it with a good copy (or delete it to download it again)."
            ) from exc

    def save(self, data: np.ndarray) -> None:
        """The raw files are inputs: the project reads IDX and never writes it."""
        raise DatasetError(f"{self._location} is a raw input file and is never written")
