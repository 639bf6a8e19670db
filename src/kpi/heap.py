"""Large blocks of memory handed back to the system when they are freed (glibc).

glibc's ``malloc`` maps a block of 128 KiB or more from the system and unmaps it when it is
freed, but once such a block is freed it raises that threshold to the block's size (up to
32 MiB).  After the first column of a nation's table is freed, the next ones (a million rows
of 8 bytes: 9.7 MB) come from the heap instead, and what they leave behind when freed stays
in the process: the ingest of 1,400 workbooks peaked at 1.04 to 1.07 GiB, and at 0.92 GiB with
the threshold held at ``LARGE_BLOCK`` (sampled per stage, ``ru_maxrss``).  Smaller blocks (a
province's columns) come from the heap as glibc's raised threshold would have them come
anyway once the first large block is freed.  The setting lasts for the rest of the process
(a build, or a kernel that called ``ingest.run``) and its forked readers: it only changes
where large blocks come from, not what a program sees.

A threshold the user set (``MALLOC_MMAP_THRESHOLD_``, or ``mmap_threshold`` in
``GLIBC_TUNABLES``) is left as it is; off Linux nothing is done, and on a C library whose
``mallopt`` does nothing (musl) the call says so.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

LARGE_BLOCK = 4 * 2**20  # bytes: half a million numbers, or the pointers of as many strings
M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


@functools.cache
def return_large_blocks() -> bool:
    """Hold glibc's threshold for mapped blocks at ``LARGE_BLOCK`` for this process (and the
    processes it forks); True when it was set here."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    if "mmap_threshold" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or one without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK) == 1


def trim() -> bool:
    """Hand back to the system the free pages of the heap (glibc's ``malloc_trim``): after the
    readers' tables of a nation are joined and freed, 225 MB the process would otherwise keep.
    True when it was done (False off glibc, where there is nothing to ask)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # another C library (musl has no malloc_trim)
        return False
    malloc_trim.argtypes, malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    malloc_trim(0)
    return True
