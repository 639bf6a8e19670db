"""Faults: a run killed while writing, and two runs at once, leave the previous outputs whole."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from kpi import ingest

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

KILL_WHILE_WRITING = textwrap.dedent("""
    import os, sys
    from kpi import ingest, write
    real = write.write_table
    def dying(frame, path):
        real(frame, path)
        os._exit(9)          # the process dies after its first output file, as on a power cut
    ingest.write_table = dying
    ingest.run(sys.argv[1])
""")

HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from kpi.write import run_lock
    with run_lock(Path(sys.argv[1]), "ingest"):
        print("locked", flush=True)
        time.sleep(30)
""")


def snapshot(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_run_killed_while_writing_leaves_previous_outputs_whole(data_dir):
    ingest.run(data_dir)
    before = snapshot(data_dir / "processed")
    killed = subprocess.run([sys.executable, "-c", KILL_WHILE_WRITING, str(data_dir)], capture_output=True, timeout=120)
    assert killed.returncode == 9
    assert snapshot(data_dir / "processed") == before
    again = ingest.run(data_dir)  # the next run is not disturbed by the dead run's leftovers
    assert again.rejects.empty and snapshot(data_dir / "processed")["observations.csv"] == before["observations.csv"]


def test_second_run_at_the_same_time_is_told_and_changes_nothing(data_dir):
    ingest.run(data_dir)
    before = snapshot(data_dir / "processed")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = subprocess.run(
            [sys.executable, "-m", "kpi.cli", "ingest", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=25,
        )  # refused, not queued behind the holder
    finally:
        holder.kill()
        holder.wait()
    assert second.returncode == 3
    assert second.stderr.startswith(f"kpi ingest: error: another kpi run is using {data_dir} (kpi ingest, process ")
    assert "Traceback" not in second.stderr
    assert snapshot(data_dir / "processed") == before
