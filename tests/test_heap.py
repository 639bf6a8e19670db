"""Large freed blocks go back to the system (``kpi.heap``): the nation-size ingest's peak memory."""

import os
import platform
import subprocess
import sys

import pytest

from kpi import heap

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only"
)

# 20 blocks of 8 MiB, each followed by a smaller block (too large for the holes the imports left) that
# the heap cannot shrink past; a first block of 30 MiB, freed, has raised glibc's threshold above them
FREED_MIB = """
import sys
import numpy as np
from kpi import heap
if sys.argv[1] == "set":
    assert heap.return_large_blocks()
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
first = np.ones(30 * 2**20 // 8)
del first
blocks, small = [], []
for _ in range(20):
    blocks.append(np.ones(8 * 2**20 // 8))
    small.append(bytes(200_000))
before = rss()
del blocks
print(round(before - rss()))
"""


def freed_mib(how: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    proc = subprocess.run([sys.executable, "-c", FREED_MIB, how], capture_output=True, text=True, env=env, check=True)
    return int(proc.stdout)


@glibc
def test_freed_large_blocks_go_back_to_the_system():
    assert freed_mib("set") >= 150  # of the 160 MiB freed
    assert freed_mib("as is") < 50  # glibc's own threshold keeps them in the heap


@glibc
@pytest.mark.parametrize(
    "name, value", [("MALLOC_MMAP_THRESHOLD_", "131072"), ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072")]
)
def test_a_threshold_the_user_set_is_left_alone(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    heap.return_large_blocks.cache_clear()
    try:
        assert heap.return_large_blocks() is False
    finally:
        heap.return_large_blocks.cache_clear()


# many small blocks (as a reader's tables come back: a bytes object per buffer), a few kept among them
# so that the heap cannot shrink from its top; freed, they stay in the process until it is trimmed
TRIMMED_MIB = """
import sys
from kpi import heap
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
blocks = [bytes(30_000) for _ in range(8_000)]
kept = blocks[::400]
before = rss()
del blocks
if sys.argv[1] == "trim":
    assert heap.trim()
print(round(before - rss()))
"""


@glibc
def test_the_free_pages_of_the_heap_go_back_when_trimmed():
    def freed(how: str) -> int:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
        proc = subprocess.run([sys.executable, "-c", TRIMMED_MIB, how], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        return int(proc.stdout)

    assert freed("trim") >= 200  # of the 229 MiB freed
    assert freed("as is") < 50
