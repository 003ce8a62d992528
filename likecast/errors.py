"""The one error type every layer raises for a problem the user can fix."""

from __future__ import annotations


class UserError(Exception):
    """A failure the user can fix; the CLI prints its one line and exits non-zero."""

    exit_code = 2


class UnavailableError(UserError):
    """A service likecast needs (a Dask scheduler) is away or is not that service."""

    exit_code = 69  # sysexits.h EX_UNAVAILABLE, as likecast.failures uses for the rest
