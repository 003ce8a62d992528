"""Keep freed memory in the process, so the next big array reuses it instead of faulting.

glibc gives every allocation above 32 MB (one float column of a few million rows) its own
mmap and unmaps it when freed, so the next array of that size has its pages faulted in
again, and those page faults were most of the feature build's time (docs/adr/0012; the
figures in docs/measurements.md). The price: memory goes back to the OS when
the process ends, not when an array is freed. That suits the batch commands (``train``,
``score``, ``materialize``...), which the ``likecast`` entry point runs in its own process;
the HTTP service does not call this.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
M_MMAP_MAX = -4
KEEP_AT_TOP = 2**31 - 1  # bytes of free heap kept rather than trimmed (mallopt takes an int)


def keep_freed_memory() -> bool:
    """Serve large allocations from the heap and keep what is freed; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt  # glibc only; musl has no mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_AT_TOP))
