"""The one mapping from a failure to what the CLI prints: one line, what to do, an exit code.

A command raises; ``serving.cli.main`` asks ``explain`` what to say. A ``UserError`` says
itself. A failure of the machine around likecast (a full or read-only disk, a permission, a
symlink loop, a kernel file system, a Dask scheduler or tracking store that is away or
refuses) is recognised here by its type and errno, anywhere in its chain of causes, so no
command wraps its own. Anything else is a bug and keeps its traceback. Every line is
redacted (``likecast.redact``): no password, token or query value reaches the terminal.

Exit codes follow sysexits.h: 69 a service likecast needs is unavailable, 74 the file
system refused, 2 any other problem the user can fix (``UserError.exit_code``).
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape

from likecast.errors import UserError
from likecast.redact import one_line

UNAVAILABLE = 69  # EX_UNAVAILABLE: the tracking store or the Dask scheduler
IO_ERROR = 74  # EX_IOERR: the disk is full, read-only, forbidden or loops

# what an atomic write fills beside its target (.NAME.tmp-PID, likecast/atomic.py): the
# user named the target
_PARTIAL = re.compile(r"^\.(?P<name>.+)\.tmp-\d+$")
_KERNEL_FOLDERS = ("/proc", "/sys", "/dev")

# The import names of the `train` extra's packages (pyproject.toml): an installation without
# it (the `serve` image) cannot train, and a command that needs them says so in one line.
TRAINING_MODULES = frozenset({"dask", "distributed", "matplotlib", "mlflow", "optuna", "sklearn"})

_CANNOT_OPEN = -1  # no errno: SQLite says only that it could not open a file
# errno -> what it means and what to do, for a path
_DISK = {
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.EACCES: "permission denied; use a path this user may use, or change its permissions",
    errno.EPERM: "operation not permitted; use a path this user may use",
    errno.ELOOP: "a symbolic link loop; point it at a real file",
    errno.EISDIR: "is a folder; give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EIO: "the device failed to read or write; check that it has space and works",
    _CANNOT_OPEN: "cannot be opened; check that its folder exists and this user may write it",
}
# the same failures as SQLite and pyarrow word them (no errno on their exceptions)
_WORDED = (
    ("database or disk is full", errno.ENOSPC),
    ("no space left on device", errno.ENOSPC),
    ("attempt to write a readonly database", errno.EROFS),
    ("read-only file system", errno.EROFS),
    ("too many levels of symbolic links", errno.ELOOP),
    ("disk i/o error", errno.EIO),  # SQLite, when a full disk refuses its journal
    ("unable to open database file", _CANNOT_OPEN),  # SQLite, for any reason
)


@dataclass(frozen=True)
class Failure:
    """What the CLI prints for a failure, and the code it exits with."""

    line: str
    exit_code: int


def explain(exc: BaseException) -> Failure | None:
    """The line and exit code for ``exc``; None for a bug (its traceback is the report)."""
    if isinstance(exc, UserError):
        return Failure(one_line(exc), exc.exit_code)
    chain = _chain(exc)
    for cause in chain:
        if isinstance(cause, ModuleNotFoundError) and _top(cause.name) in TRAINING_MODULES:
            return Failure(
                f"this command needs the training packages, which this installation lacks "
                f"({one_line(cause)}): install {escape('likecast[train]')}, or use the `full` "
                "image",
                UserError.exit_code,
            )
    for cause in chain:  # the disk first: a store or scheduler failing on a full disk
        found = _disk(cause)
        if found is not None:
            return found
    for cause in chain:
        if _from(cause, "distributed", "tornado"):
            return Failure(f"the Dask cluster failed: {one_line(cause)}", UNAVAILABLE)
    for cause in chain:
        if _from(cause, "mlflow", "sqlalchemy", "requests", "urllib3"):
            return Failure(
                f"the tracking store failed: {one_line(cause)} (check LIKECAST_TRACKING_URI "
                "or MLFLOW_TRACKING_URI, that it is reachable, and its credentials)",
                UNAVAILABLE,
            )
    return None


def _top(module: str | None) -> str:
    return (module or "").split(".")[0]


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes and contexts, outermost first, each once."""
    seen: list[BaseException] = []
    at: BaseException | None = exc
    while at is not None and all(at is not s for s in seen):
        seen.append(at)
        at = at.__cause__ or at.__context__
    return seen


def _from(exc: BaseException, *packages: str) -> bool:
    """Whether ``exc``'s type (or a base) comes from one of ``packages``, or it was raised
    inside one (Dask raises plain OSError and TypeError for what it cannot connect to)."""
    if any(kind.__module__.split(".")[0] in packages for kind in type(exc).__mro__):
        return True
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next  # to where it was raised
    raised_in = frame.tb_frame.f_globals.get("__name__", "") if frame is not None else ""
    return str(raised_in).split(".")[0] in packages


def _disk(exc: BaseException) -> Failure | None:
    """A file system's refusal, naming the path the user gave."""
    code = exc.errno if isinstance(exc, OSError) else None
    text = str(exc).lower()
    if code not in _DISK:
        code = next((c for words, c in _WORDED if words in text), None)
    filename = getattr(exc, "filename", None) if isinstance(exc, OSError) else None
    path = _given(filename) if isinstance(filename, str | Path) else None
    if path is not None and path.startswith(_KERNEL_FOLDERS) and isinstance(exc, OSError):
        where = path.split("/")[1]
        return Failure(
            f"{one_line(OSError(path))}: /{where} is a kernel file system, not a place for "
            "files; write elsewhere",
            IO_ERROR,
        )
    if code is None:
        return None
    what = _DISK[code]
    if path is None:
        return Failure(f"{what} ({one_line(exc)})", IO_ERROR)
    return Failure(f"{one_line(OSError(path))}: {what}", IO_ERROR)


def _given(filename: str | Path) -> str:
    """The path to name: an atomic write's ``.NAME.tmp-PID`` is the user's ``NAME``."""
    path = Path(filename)
    partial = _PARTIAL.match(path.name)
    return str(path.with_name(partial["name"]) if partial else path)
