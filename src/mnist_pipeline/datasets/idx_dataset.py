"""A Kedro dataset for IDX files (the MNIST format), verified on every load."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from kedro.io import AbstractDataset

from mnist_pipeline.errors import DataFileError

from .download import DownloadError, download_first_verified
from .idx_format import (
    MAX_HEADER_BYTES,
    IDXFormatError,
    decode_idx,
    decompress,
    encode_idx,
    parse_header,
)
from .storage import OnFilesystem


class ChecksumError(ValueError):
    """The decompressed bytes do not have the SHA-256 the catalog declares."""


class IDXDataset(OnFilesystem, AbstractDataset[np.ndarray, np.ndarray]):
    """Loads and saves one IDX file, plain or gzip-compressed (by the ``.gz`` suffix on save).

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
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            filepath: The file, a local path or an fsspec URL (``.gz`` means
                gzip-compressed when saving).
            sha256: Expected SHA-256 (hex) of the decompressed bytes; ``None`` skips the check.
            mirrors: Base URLs tried in order when the file is missing; each is joined
                with ``remote_name``.
            remote_name: File name on the mirrors; defaults to the name of ``filepath``.
            timeout: Seconds to wait for a mirror before trying the next one.
            credentials: Passed to the fsspec filesystem (e.g. keys for ``s3://``).
            fs_args: Other arguments of the fsspec filesystem.
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._set_location(filepath, credentials, fs_args)
        self._sha256 = sha256.lower() if sha256 else None
        self._mirrors = list(mirrors or [])
        self._remote_name = remote_name or self._location.name
        self._timeout = float(timeout)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._location),
            "sha256": self._sha256,
            "mirrors": self._mirrors,
        }

    def _exists(self) -> bool:
        return self._location.is_file()

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

    def load(self) -> np.ndarray:
        """Read, verify and decode the file, downloading it first when it is missing."""
        if not self._location.is_file():
            self._download()
        try:
            return self._verified_array(self._location.read_bytes())
        except (IDXFormatError, ChecksumError) as exc:
            raise DataFileError(
                f"IDX file {self._location} is not usable: {exc}. "
                "Replace it with a good copy (or delete it to download it again)."
            ) from exc

    def save(self, data: np.ndarray) -> None:
        """Write ``data`` as IDX (gzip-compressed when the path ends in ``.gz``), atomically."""
        try:
            payload = encode_idx(data)
        except IDXFormatError as exc:
            raise DataFileError(f"Cannot save to IDX file {self._location}: {exc}") from exc
        if self._filepath.suffix == ".gz":
            payload = gzip.compress(payload, compresslevel=6, mtime=0)
        self._location.write_bytes(payload)
