"""The error types every layer raises: a problem the user can fix, and a creator store
built for another question (here, not in ``features.store``, so the service's supervisor
can catch it without importing the data stack)."""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can fix; the CLI prints its one line and exits non-zero."""

    exit_code = 2


class UnavailableError(UserError):
    """A service likecast needs (a Dask scheduler) is away or is not that service."""

    exit_code = 69  # sysexits.h EX_UNAVAILABLE, as likecast.failures uses for the rest


class StoreTargetError(RuntimeError):
    """The store was built for another target than the model's: its history would answer
    another question. Not the request's fault (a 503, not a 400)."""
