"""Failures a user is expected to meet and can fix, told apart from bugs.

Anything raised as a :class:`UserFacingError` (or caused by one) is shown by ``kedro run``
as its message alone, without a traceback: the message says which file or setting is
wrong and what to do. Anything else is a bug and keeps its full traceback.
"""

from __future__ import annotations

from collections.abc import Iterator

from kedro.io import DatasetError


class UserFacingError(Exception):
    """An expected failure whose message tells the user what to fix."""


class DataFileError(DatasetError, UserFacingError):
    """A data file is missing, damaged or not the expected one."""


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then its causes (explicit or implicit), each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def find_user_facing(exc: BaseException) -> UserFacingError | None:
    """The first :class:`UserFacingError` in ``exc``'s chain of causes, if any."""
    return next((e for e in exception_chain(exc) if isinstance(e, UserFacingError)), None)
