"""Raw files read in forked processes when there are many: the same results, the same errors, the same files."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import types

import pytest

from kpi import config, executors, ingest
from kpi.errors import ParameterError


def pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


class Unpicklable(Exception):
    def __init__(self, a, b):  # pickle rebuilds an exception from .args: one argument, not two
        super().__init__(f"{a} {b}")


def fails_on_seven(n: int) -> int:
    if n == 7:
        raise Unpicklable("seven", "fails")
    return n


EXTRACT_ONE = ingest.extract_one


def frozen(_n: int) -> tuple[int, int]:
    import gc

    return os.getpid(), gc.get_freeze_count()


def noting_reader(record):
    """``ingest.extract_one``, noting which process read the file (in the file ``KPI_TEST_READERS`` names)."""
    with open(os.environ["KPI_TEST_READERS"], "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()}\n")
    return EXTRACT_ONE(record)


@pytest.fixture
def alone(monkeypatch):
    """As ``kpi ingest`` runs: safe to fork (a test run may have left threads or ZeroMQ), two processes."""
    monkeypatch.setattr(executors, "fork_is_safe", lambda: True)
    monkeypatch.setenv(executors.JOBS_ENV, "2")


def test_many_items_are_read_in_workers_in_their_order(alone):
    out = executors.read_map(pid_and_square, range(40))
    assert [square for _, square in out] == [n * n for n in range(40)]
    workers = {pid for pid, _ in out}
    assert os.getpid() not in workers and len(workers) <= 2  # one worker may take every chunk of quick items


def test_few_items_are_read_here(alone):
    out = executors.read_map(pid_and_square, range(executors.PARALLEL_FILES - 1))
    assert {pid for pid, _ in out} == {os.getpid()}


def test_an_error_is_the_one_one_process_raises(alone, capfd):
    with pytest.raises(Unpicklable, match="seven fails"):
        executors.read_map(fails_on_seven, range(40))
    assert "kpi: reading the files again in one process: the workers stopped" in capfd.readouterr().err


def test_workers_that_stop_leave_the_files_read_here(alone, monkeypatch, capfd):
    def broken(self, fn, *iterables, **kw):
        raise executors.BrokenProcessPool("a worker was killed")

    monkeypatch.setattr(executors.ProcessPoolExecutor, "map", broken)
    assert [square for _, square in executors.read_map(pid_and_square, range(20))] == [n * n for n in range(20)]
    assert "BrokenProcessPool('a worker was killed')" in capfd.readouterr().err


def test_one_process_where_forking_is_not_safe(monkeypatch):
    monkeypatch.setenv(executors.JOBS_ENV, "2")
    monkeypatch.setitem(sys.modules, "zmq", sys.modules.get("zmq") or types.ModuleType("zmq"))
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert executors.read_jobs() == 1  # ZeroMQ loaded: a kernel's threads Python does not see
    monkeypatch.delitem(sys.modules, "zmq")
    monkeypatch.setattr(threading, "active_count", lambda: 3)  # e.g. a web server's threads
    assert executors.read_jobs() == 1
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert executors.read_jobs() == 2
    monkeypatch.setenv(executors.JOBS_ENV, "1")
    assert executors.read_jobs() == 1
    monkeypatch.setenv(executors.JOBS_ENV, "two")
    with pytest.raises(ParameterError, match="KPI_INGEST_JOBS='two': expected a whole number"):
        executors.read_jobs()


def test_ingest_in_two_processes_writes_the_same_files(alone, monkeypatch, tmp_path, capfd):
    monkeypatch.setattr(executors, "PARALLEL_FILES", 2)  # the shipped sources are few: read them forked
    for jobs in ("1", "2"):
        shutil.copytree(config.DATA_DIR / "raw", tmp_path / jobs / "raw")
        monkeypatch.setenv(executors.JOBS_ENV, jobs)
        ingest.run(tmp_path / jobs)
    one, two = tmp_path / "1" / "processed", tmp_path / "2" / "processed"
    names = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file() and p.name != "ingest-stamp.json")
    assert names and names == sorted(
        p.relative_to(two) for p in two.rglob("*") if p.is_file() and p.name != "ingest-stamp.json"
    )
    for name in names:
        assert (two / name).read_bytes() == (one / name).read_bytes(), name
    assert "reading the files again" not in capfd.readouterr().err  # the workers read them, no fallback


def test_the_reference_shared_with_the_readers_is_loaded_once_before_they_fork(alone, monkeypatch, tmp_path):
    """On the SYNTHETIC bench forms (their readers match commune names in the gazetteer)."""
    from kpi import reference

    from .test_golden import bench_set

    data = bench_set(tmp_path, monkeypatch)
    built, readers = tmp_path / "gazetteers", tmp_path / "readers"
    make = reference.Gazetteer.__init__

    def noted(self, *args):
        with open(built, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        make(self, *args)

    monkeypatch.setattr(reference.Gazetteer, "__init__", noted)
    monkeypatch.setenv("KPI_TEST_READERS", str(readers))
    monkeypatch.setattr(ingest, "extract_one", noting_reader)
    monkeypatch.setattr(executors, "PARALLEL_FILES", 2)  # its four files read in workers
    reference.gazetteer.cache_clear()  # (writing the forms looked names up)
    ingest.run(data)
    assert str(os.getpid()) not in readers.read_text(encoding="utf-8").split()  # read in forked readers
    assert built.read_text(encoding="utf-8").split() == [str(os.getpid())]  # the gazetteer: here, once


def test_a_reference_table_that_fails_to_load_is_told_by_the_step_that_needs_it(data_dir, alone, monkeypatch, tmp_path):
    from kpi import reference
    from kpi.errors import ReferenceDataError

    folder = tmp_path / "reference"
    shutil.copytree(config.reference_dir(), folder)
    (folder / "areas.csv").unlink()
    monkeypatch.setenv("KPI_REFERENCE_DIR", str(folder))
    monkeypatch.setattr(executors, "PARALLEL_FILES", 2)
    with pytest.raises(ReferenceDataError, match=r"reference table areas.csv is missing from"):
        ingest.run(data_dir)
    reference.gazetteer.cache_clear()


def test_a_forked_reader_leaves_the_objects_it_was_forked_with_to_themselves(alone):
    """Python's collections in a reader skip what it shares with the ingest (walking it would copy its pages)."""
    import gc

    here = gc.get_freeze_count()
    out = executors.read_map(frozen, range(40))
    assert {pid for pid, _ in out} - {os.getpid()}
    assert all(count > here for _, count in out)
