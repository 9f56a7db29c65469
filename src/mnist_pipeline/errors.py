"""Failures a user is expected to meet and can fix, told apart from bugs.

Anything raised as a :class:`UserFacingError` (or caused by one) is shown by ``kedro run``
as its message alone, without a traceback: the message says which file or setting is
wrong and what to do. Anything else is a bug and keeps its full traceback.
"""

from __future__ import annotations

from kedro.io import DatasetError


class UserFacingError(Exception):
    """An expected failure whose message tells the user what to fix."""


class DataFileError(DatasetError, UserFacingError):
    """A data file is missing, damaged or not the expected one."""


def find_user_facing(exc: BaseException) -> UserFacingError | None:
    """The first :class:`UserFacingError` in ``exc``'s chain of causes, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, UserFacingError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
