"""Writing an output atomically: readers see the old file or folder or the new one, never half.

Every output likecast writes is filled at a hidden path beside it, ``.NAME.tmp-PID``, and
renamed into place at the end; a write that fails removes it and leaves the old output as it
was, and one killed mid-write is swept away by the next write to the same place.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def partial_of(target: Path) -> Path:
    """The hidden path beside ``target`` that this process fills (``likecast.failures``
    names ``target`` when writing it fails)."""
    return target.with_name(f".{target.name}.tmp-{os.getpid()}")


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A hidden path beside ``target`` to write a file or a folder at: when the block ends,
    it takes ``target``'s place in one rename (an old folder is removed only after); when
    the block fails, it is removed and ``target`` is as it was."""
    with _partial(target) as partial:
        yield partial
        _publish(partial, target)


@contextmanager
def creating(target: Path) -> Iterator[Path]:
    """A hidden folder path beside ``target`` for the first writer of a folder that never
    changes once written: when ``target`` exists by the end (another process wrote it
    meanwhile), it is kept and this copy removed."""
    with _partial(target) as partial:
        yield partial
        try:
            os.rename(partial, target)  # never replaces a folder that holds files
        except OSError:
            if not target.exists():
                raise


def write_text(text: str, target: Path) -> None:
    """Write ``text`` to ``target`` atomically."""
    with naming(target), replacing(target) as partial:
        partial.write_text(text)


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError raised inside without a file name names ``path``: pandas and pyarrow drop
    it, and a failure (a full disk) must name the file the user gave (likecast/failures.py)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


@contextmanager
def _partial(target: Path) -> Iterator[Path]:
    """The partial path, with what killed writes left beside ``target`` swept first, and
    removed at the end, whatever happened."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target)
    partial = partial_of(target)
    _remove(partial)
    try:
        yield partial
    finally:
        _remove(partial)


def _publish(partial: Path, target: Path) -> None:
    """Rename ``partial`` over ``target``; a folder cannot be renamed over an existing
    folder or file, so the old one is moved aside first and put back if the rename fails."""
    if not (partial.is_dir() and target.exists()):
        os.replace(partial, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    _remove(old)
    os.replace(target, old)
    try:
        os.replace(partial, target)
    except OSError:
        os.replace(old, target)
        raise
    _remove(old)


def _sweep(target: Path) -> None:
    """Remove the partial or old outputs of writes to ``target`` whose process is gone."""
    left = re.compile(rf"\.{re.escape(target.name)}\.(tmp|old)-(?P<pid>\d+)")
    for path in target.parent.iterdir():
        found = left.fullmatch(path.name)
        if found and not _alive(int(found["pid"])):
            _remove(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
