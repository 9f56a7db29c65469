"""Where a dataset's file or folder lives: a local path or any fsspec URL.

The project's datasets read and write through :class:`Location`, as kedro-datasets' own
do (``get_protocol_and_path``, ``fsspec.filesystem`` with the entry's ``credentials`` and
``fs_args``), so a catalog path may be ``s3://``, ``gs://``, ``abfs://`` or ``memory://``
where workers share no disk (``conf/airflow``).

Whole-or-nothing, on each kind of storage:

- **local disk**: bytes go to a temporary sibling, renamed into place when complete
  (:mod:`.atomic`);
- **object stores**: a file is uploaded as one object, which the store makes visible only
  when the upload completes (a failed upload leaves the previous object, or none), so a
  reader never sees part of a file. There is no rename of a folder, so a folder is
  published file by file with its *marker* (the file whose presence says "complete", e.g.
  a TensorFlow checkpoint's index) removed first and uploaded last: a reader that goes by
  the marker sees the old folder, no folder, or the new one, never a mixture.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import get_protocol_and_path

from .atomic import atomic_directory, atomic_file

_LOCAL_PROTOCOLS = {"file", "local"}


def filesystem(
    protocol: str, credentials: dict[str, Any] | None, fs_args: dict[str, Any] | None
) -> fsspec.AbstractFileSystem:
    """The fsspec filesystem for ``protocol``, made as kedro-datasets make theirs."""
    return fsspec.filesystem(protocol, **(credentials or {}), **(fs_args or {}))


def _resolve(
    url: str, credentials: dict[str, Any] | None, fs_args: dict[str, Any] | None
) -> tuple[str, PurePosixPath, fsspec.AbstractFileSystem]:
    """``url``'s protocol, path on its filesystem, and the filesystem.

    Local paths stay as given (relative ones relative to the project, as in Kedro); other
    paths are as fsspec reads them (``get_protocol_and_path`` drops ``memory://``'s first
    part, so that ``memory://a/x`` and ``memory://b/x`` would be the same file).
    """
    protocol, path = get_protocol_and_path(url)
    fs = filesystem(protocol, credentials, fs_args)
    if protocol not in _LOCAL_PROTOCOLS:
        path = fs._strip_protocol(url)
    return protocol, PurePosixPath(path), fs


class Location:
    """A file or folder on a local or fsspec filesystem.

    Datasets keep what kedro-datasets' keep (``_protocol``, ``_fs`` and a ``_filepath``
    without its protocol, which kedro-mlflow reads and re-points when it packages a model)
    and ask for ``Location.on(self._fs, self._protocol, self._filepath)`` when they use it.
    """

    def __init__(
        self,
        url: str,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
    ) -> None:
        """``url``'s location; ``credentials`` and ``fs_args`` go to ``fsspec.filesystem``."""
        protocol, path, self.fs = _resolve(str(url), credentials, fs_args)
        self.protocol, self.path, self.url = protocol, path, str(url)

    @classmethod
    def on(
        cls, fs: fsspec.AbstractFileSystem, protocol: str, path: str | PurePosixPath
    ) -> Location:
        """The location ``path`` on a filesystem already made (e.g. a kedro-datasets one)."""
        location = object.__new__(cls)
        location.fs, location.protocol, location.path = fs, protocol, PurePosixPath(path)
        location.url = (
            str(path) if protocol in _LOCAL_PROTOCOLS else f"{protocol}://{str(path).lstrip('/')}"
        )
        return location

    def __str__(self) -> str:
        return self.url

    @property
    def is_local(self) -> bool:
        """Whether this is a path on this machine's own filesystem."""
        return self.protocol in _LOCAL_PROTOCOLS

    @property
    def name(self) -> str:
        """The last part of the path (a file's name)."""
        return self.path.name

    def child(self, name: str) -> Location:
        """The location ``name`` inside this folder, on the same filesystem."""
        child = Location.on(self.fs, self.protocol, self.path / name)
        child.url = f"{self.url.rstrip('/')}/{name}"
        return child

    def sibling(self, name: str) -> Location:
        """The location ``name`` beside this one, on the same filesystem."""
        sibling = Location.on(self.fs, self.protocol, self.path.parent / name)
        sibling.url = f"{self.url.rstrip('/').rsplit('/', 1)[0]}/{name}"
        return sibling

    # ---------------------------------------------------------------- reading
    def is_file(self) -> bool:
        """Whether a file is there."""
        return self.fs.isfile(str(self.path))

    def is_dir(self) -> bool:
        """Whether a folder is there."""
        return self.fs.isdir(str(self.path))

    def read_bytes(self) -> bytes:
        """The whole file."""
        return self.fs.cat_file(str(self.path))

    def read_head(self, size: int) -> bytes:
        """The file's first ``size`` bytes (fewer when it is shorter)."""
        with self.fs.open(str(self.path), "rb") as handle:
            return handle.read(size)

    @contextlib.contextmanager
    def local_file(self, suffix: str = "") -> Iterator[Path]:
        """A path on this machine holding the file: itself, or a downloaded copy."""
        if self.is_local:
            yield Path(self.path)
            return
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / f"download{suffix}"
            self.fs.get_file(str(self.path), str(copy))
            yield copy

    @contextlib.contextmanager
    def local_folder(self) -> Iterator[Path]:
        """A folder on this machine holding the folder: itself, or a downloaded copy."""
        if self.is_local:
            yield Path(self.path)
            return
        with tempfile.TemporaryDirectory() as scratch:
            self.download_folder(Path(scratch))
            yield Path(scratch)

    def download_folder(self, destination: Path) -> None:
        """Copy every file of this folder into ``destination`` (keeping sub-folders)."""
        root = str(self.path).rstrip("/")
        for remote in self.fs.find(root):
            local = destination / PurePosixPath(remote.lstrip("/")).relative_to(root.lstrip("/"))
            local.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(remote, str(local))

    # ---------------------------------------------------------------- writing
    def write_bytes(self, data: bytes) -> None:
        """Write ``data`` here, whole or not at all."""
        with self.writing() as tmp:
            tmp.write_bytes(data)

    @contextlib.contextmanager
    def writing(self, suffix: str = ".partial") -> Iterator[Path]:
        """A local temporary file to write; on success it becomes this file, whole.

        ``suffix`` ends the temporary name, for writers that insist on an extension.
        """
        if self.is_local:
            with atomic_file(self.path, suffix=suffix) as tmp:
                yield tmp
            return
        with tempfile.TemporaryDirectory() as scratch:
            tmp = Path(scratch) / f"upload{suffix}"
            yield tmp
            self.fs.makedirs(str(self.path.parent), exist_ok=True)
            self.fs.put_file(str(tmp), str(self.path))

    @contextlib.contextmanager
    def writing_folder(self, marker: str) -> Iterator[Path]:
        """A local temporary folder to fill; on success it replaces this folder.

        ``marker`` names the file that marks the folder complete: on an object store it
        is removed before anything else changes and uploaded after everything else.
        """
        if self.is_local:
            with atomic_directory(self.path) as tmp:
                yield tmp
            return
        with tempfile.TemporaryDirectory() as scratch:
            yield Path(scratch)
            index = self.child(marker)
            if index.is_file():
                index.remove()
            self.publish_folder(Path(scratch), last=[marker])

    def publish_folder(self, source: Path, last: Iterable[str] = ()) -> None:
        """Make this folder equal to ``source``: upload its files, the ``last`` ones (in
        that order) after all the others, then delete what ``source`` does not have."""
        root = str(self.path).rstrip("/")
        last = [name for name in last if (source / name).is_file()]
        files = sorted(p for p in source.rglob("*") if p.is_file())
        ordered = [p for p in files if p.relative_to(source).as_posix() not in last]
        self.fs.makedirs(root, exist_ok=True)
        for path in [*ordered, *(source / name for name in last)]:
            self.fs.put_file(str(path), f"{root}/{path.relative_to(source).as_posix()}")
        wanted = {f"{root}/{p.relative_to(source).as_posix()}".lstrip("/") for p in files}
        for remote in self.fs.find(root):
            if remote.lstrip("/") not in wanted:
                self.fs.rm_file(remote)

    def remove(self) -> None:
        """Delete this file or folder, if it is there."""
        if self.fs.exists(str(self.path)):
            self.fs.rm(str(self.path), recursive=True)

    def move_to(self, target: Location) -> None:
        """Move this file or folder to ``target`` on the same filesystem."""
        self.fs.mv(str(self.path), str(target.path), recursive=True)


class OnFilesystem:
    """Mixin for a dataset kept where kedro-datasets keep theirs: ``_protocol``, ``_fs``
    and a ``_filepath`` without protocol (which kedro-mlflow re-points when it packages a
    model, so the location is worked out from them at each use)."""

    _protocol: str
    _filepath: PurePosixPath
    _fs: fsspec.AbstractFileSystem

    def _set_location(
        self,
        filepath: str,
        credentials: dict[str, Any] | None,
        fs_args: dict[str, Any] | None,
    ) -> None:
        self._protocol, self._filepath, self._fs = _resolve(str(filepath), credentials, fs_args)

    @property
    def _location(self) -> Location:
        return Location.on(self._fs, self._protocol, self._filepath)
