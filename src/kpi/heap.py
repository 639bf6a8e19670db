"""Large blocks of memory handed back to the system when they are freed (glibc).

glibc's ``malloc`` maps a block of 128 KiB or more from the system and unmaps it when it is
freed, but once such a block is freed it raises that threshold to the block's size (up to
32 MiB).  After the first column of a nation's table is freed, the next ones (a million rows
of 8 bytes: 9.7 MB) come from the heap instead, and what they leave behind when freed stays
in the process: the ingest of 1,400 workbooks peaked at 1.04 to 1.07 GiB, and at 0.92 GiB with
the threshold held at ``LARGE_BLOCK`` (sampled per stage, ``ru_maxrss``).  Blocks under it (a
province's columns) are served as before, so smaller runs take no extra system calls.

A threshold the user set (``MALLOC_MMAP_THRESHOLD_``) is left as it is; off glibc nothing is
done.
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
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or one without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK) == 1
