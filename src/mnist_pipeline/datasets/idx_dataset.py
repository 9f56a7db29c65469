"""A Kedro dataset for IDX files (the MNIST format), verified on every load."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from kedro.io import AbstractDataset

from mnist_pipeline.errors import DataFileError

from .atomic import write_bytes_atomically
from .download import DownloadError, download_first_verified
from .idx_format import (
    MAX_HEADER_BYTES,
    IDXFormatError,
    decode_idx,
    decompress,
    encode_idx,
    parse_header,
)


class ChecksumError(ValueError):
    """The decompressed bytes do not have the SHA-256 the catalog declares."""


class IDXDataset(AbstractDataset[np.ndarray, np.ndarray]):
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
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            filepath: Local path of the file (``.gz`` means gzip-compressed when saving).
            sha256: Expected SHA-256 (hex) of the decompressed bytes; ``None`` skips the check.
            mirrors: Base URLs tried in order when the file is missing; each is joined
                with ``remote_name``.
            remote_name: File name on the mirrors; defaults to the name of ``filepath``.
            timeout: Seconds to wait for a mirror before trying the next one.
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._filepath = PurePosixPath(filepath)
        self._sha256 = sha256.lower() if sha256 else None
        self._mirrors = list(mirrors or [])
        self._remote_name = remote_name or self._filepath.name
        self._timeout = float(timeout)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "sha256": self._sha256,
            "mirrors": self._mirrors,
        }

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

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
                f"IDX file {self._filepath} does not exist and the catalog lists no mirrors "
                f"for it: put the file there by hand (plain or .gz)."
            )
        if self._sha256 is None:
            raise DataFileError(
                f"IDX file {self._filepath} does not exist, and it will not be downloaded "
                "because the catalog gives no sha256 to verify the download with: add its "
                "checksum to the catalog entry, or put the file there by hand."
            )
        urls = [f"{mirror.rstrip('/')}/{self._remote_name}" for mirror in self._mirrors]
        try:
            download_first_verified(urls, self._filepath, self._verified_array, self._timeout)
        except DownloadError as exc:
            raise DataFileError(
                f"IDX file {self._filepath} is missing and {exc}\n"
                f"Without network access, copy the file by hand to {self._filepath} "
                f"(for MNIST: the four *-ubyte.gz files into {self._filepath.parent}/)."
            ) from exc

    def peek_shape(self) -> tuple[int, ...] | None:
        """The shape the file's header declares, reading only the header; ``None`` when the
        file is missing or has no readable header (``load`` then says what is wrong)."""
        path = Path(self._filepath)
        if not path.is_file():
            return None
        try:
            with open(path, "rb") as raw:
                opener = gzip.open if raw.read(2) == b"\x1f\x8b" else open
            with opener(path, "rb") as handle:
                return parse_header(handle.read(MAX_HEADER_BYTES))[1]
        except (OSError, EOFError, IDXFormatError):
            return None

    def load(self) -> np.ndarray:
        """Read, verify and decode the file, downloading it first when it is missing."""
        path = Path(self._filepath)
        if not path.is_file():
            self._download()
        try:
            return self._verified_array(path.read_bytes())
        except (IDXFormatError, ChecksumError) as exc:
            raise DataFileError(
                f"IDX file {self._filepath} is not usable: {exc}. "
                "Replace it with a good copy (or delete it to download it again)."
            ) from exc

    def save(self, data: np.ndarray) -> None:
        """Write ``data`` as IDX (gzip-compressed when the path ends in ``.gz``), atomically."""
        try:
            payload = encode_idx(data)
        except IDXFormatError as exc:
            raise DataFileError(f"Cannot save to IDX file {self._filepath}: {exc}") from exc
        if self._filepath.suffix == ".gz":
            payload = gzip.compress(payload, compresslevel=6, mtime=0)
        write_bytes_atomically(self._filepath, payload)
