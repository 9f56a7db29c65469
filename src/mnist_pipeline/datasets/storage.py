"""Where a dataset's file or folder lives (a local path or any fsspec URL), written whole
or not at all, and the base of the project's file-backed datasets.

The project's datasets read and write through :class:`Location`, as kedro-datasets' own
do (``get_protocol_and_path``, ``fsspec.filesystem`` with the entry's ``credentials`` and
``fs_args``), so a catalog path may be ``s3://``, ``gs://``, ``abfs://`` or ``memory://``
where workers share no disk (``conf/airflow``).

Whole-or-nothing, on each kind of storage, so that an interrupted run (Ctrl-C, SIGKILL, a
full disk) never leaves a half-written output that a later run would take for a good one:

- **local disk**: bytes go to a temporary sibling, renamed into place when complete
  (:func:`atomic_file`, :func:`atomic_directory`);
- **object stores**: a file is uploaded as one object, which the store makes visible only
  when the upload completes (a failed upload leaves the previous object, or none), so a
  reader never sees part of a file. There is no rename of a folder, so a folder is
  published file by file with its *marker* (the file whose presence says "complete", e.g.
  a TensorFlow checkpoint's index) removed first and uploaded last: a reader that goes by
  the marker sees the old folder, no folder, or the new one, never a mixture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from kedro.io import AbstractDataset
from kedro.io.core import get_protocol_and_path


def _default_file_mode() -> int:
    """The mode a plain ``open(..., "w")`` would give (``mkstemp`` makes files 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (best effort: not every filesystem allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike, suffix: str = ".partial") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left as it was.
    ``suffix`` ends the temporary name, for writers that insist on an extension.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _default_file_mode())
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; swap it in for ``target`` on success.

    A folder cannot be replaced in one rename when it already exists, so the old one is
    first renamed aside and deleted only after the new one is in place: at every moment
    either the old or the new complete folder is at ``target``, except for the instant
    between two renames, when it is absent (never partial).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            old.rmdir()
            os.replace(target, old)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


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


class FileDataset(AbstractDataset):
    """Base of the project's datasets kept in one file or folder, anywhere fsspec reaches.

    It keeps what kedro-datasets' file datasets keep (``_protocol``, ``_fs`` and a
    ``_filepath`` without its protocol, which kedro-mlflow reads and re-points when it
    packages a model), so :attr:`_location` is worked out from them at each use. Every
    save goes through :meth:`Location.writing` (or ``writing_folder``): whole or not at all.
    """

    def __init__(
        self,
        filepath: str,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create the dataset.

        Args:
            filepath: The file or folder: a local path or an fsspec URL (``s3://...``).
            credentials: Passed to the fsspec filesystem (e.g. keys for ``s3://``).
            fs_args: Other arguments of the fsspec filesystem.
            metadata: Free-form metadata (e.g. for kedro-viz); ignored by Kedro.
        """
        self._protocol, self._filepath, self._fs = _resolve(str(filepath), credentials, fs_args)
        self.metadata = metadata

    @property
    def _location(self) -> Location:
        return Location.on(self._fs, self._protocol, self._filepath)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._location)}

    def _exists(self) -> bool:
        return self._location.is_file()
