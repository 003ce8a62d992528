"""Small real file systems for the tests of a full or read-only disk.

A tmpfs of a few kilobytes fills up for real (ENOSPC from the kernel, as on a full disk),
and remounted read-only it refuses writes with EROFS, which root (the tests and CI run as
root) is not exempt from, unlike a file's permissions. They are mounted and unmounted by
the mount(2) system call in this process: no `mount` command, so no subprocess, and
nothing stays mounted after the test. A loop device would need a file system image and
mkfs; tmpfs needs neither.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MS_RDONLY, MS_REMOUNT = 1, 32
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


@contextmanager
def tiny_disk(at: Path, size: str = "64k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``at`` (made if missing), unmounted after."""
    at.mkdir(parents=True, exist_ok=True)
    _check(_libc.mount(b"tmpfs", bytes(at), b"tmpfs", 0, f"size={size}".encode()), "mount")
    try:
        yield at
    finally:
        _check(_libc.umount2(bytes(at), MNT_DETACH), "umount")


def make_read_only(at: Path, size: str = "64k") -> None:
    """Remount the tmpfs at ``at`` read-only: every write to it fails with EROFS."""
    flags = MS_REMOUNT | MS_RDONLY
    _check(_libc.mount(b"tmpfs", bytes(at), b"tmpfs", flags, f"size={size}".encode()), "remount")


def fill(at: Path) -> None:
    """Fill the file system at ``at`` to the last block."""
    with (at / "filler").open("wb", buffering=0) as out:
        try:
            while out.write(b"\0" * 4096):
                pass
        except OSError:
            pass  # ENOSPC: full
