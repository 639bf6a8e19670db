"""Work run beside the ingest in a forked process: its value comes back; a failure there is the
error doing it here gives; leaving on an error stops it; a killed writer leaves no stray file."""

from __future__ import annotations

import os
import signal
import time

import pytest

from kpi import executors, ingest
from kpi.beside import Beside
from kpi.write import atomic_write_text, staged_folder


@pytest.fixture
def alone(monkeypatch):
    """As ``kpi ingest`` runs: safe to fork (a test run may have left threads or ZeroMQ), two processes."""
    monkeypatch.setattr(executors, "fork_is_safe", lambda: True)
    monkeypatch.setenv(executors.JOBS_ENV, "2")


def test_the_value_comes_from_another_process(alone):
    here = os.getpid()
    with Beside(lambda: (os.getpid(), list(range(100_000)))) as work:
        assert work.pid not in (None, here)
        pid, numbers = work.result()
    assert pid != here and numbers == list(range(100_000))


def test_one_process_does_it_here_when_asked_for(monkeypatch):
    monkeypatch.setenv(executors.JOBS_ENV, "1")
    calls = []
    with Beside(lambda: calls.append(os.getpid()) or "done") as work:
        assert work.pid is None and calls == []  # nothing runs before the result is asked for
        assert work.result() == "done"
    assert calls == [os.getpid()]


class TwoArguments(Exception):
    def __init__(self, a, b):  # cannot be rebuilt by pickle from .args: it would not travel back
        super().__init__(f"{a} {b}")


def test_an_error_there_is_raised_here_as_it_is(alone, tmp_path):
    def fails():
        (tmp_path / f"tried-in-{os.getpid()}").touch()
        raise TwoArguments("no", "room")

    with pytest.raises(TwoArguments, match="no room"), Beside(fails) as work:
        work.result()
    tried = sorted(p.name for p in tmp_path.iterdir())
    assert len(tried) == 2 and f"tried-in-{os.getpid()}" in tried  # there first, then here


def test_a_killed_process_has_its_work_done_here(alone):
    here = os.getpid()

    def dies_there():
        if os.getpid() != here:
            os.kill(os.getpid(), signal.SIGKILL)
        return "done here"

    with Beside(dies_there) as work:
        assert work.result() == "done here"


def test_leaving_on_an_error_stops_the_process(alone, tmp_path):
    def slow():
        time.sleep(30)
        (tmp_path / "late").touch()

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="on the way"), Beside(slow) as work:
        pid = work.pid
        raise RuntimeError("an error on the way")
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: not running, not a zombie
    assert not (tmp_path / "late").exists()


def test_a_writer_killed_mid_file_leaves_nothing_in_the_outputs(alone, tmp_path):
    target = tmp_path / "processed"
    here = os.getpid()

    def writes_then_dies():
        (out / ".observations.csv.0123456789ab.tmp").write_text("half a fi", encoding="utf-8")
        if os.getpid() != here:
            os.kill(os.getpid(), signal.SIGKILL)
        atomic_write_text(out / "observations.csv", "whole\n")

    with staged_folder(target) as out, Beside(writes_then_dies) as work:
        work.result()
    assert sorted(p.name for p in target.iterdir()) == ["observations.csv"]


def test_the_ingest_writes_the_same_files_with_and_without_a_second_process(data_dir, monkeypatch):
    def files() -> dict[str, bytes]:
        out = data_dir / "processed"
        return {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != "ingest-stamp.json"}

    monkeypatch.setattr(executors, "fork_is_safe", lambda: True)
    monkeypatch.setenv(executors.JOBS_ENV, "1")
    ingest.run(data_dir)
    alone = files()
    monkeypatch.setenv(executors.JOBS_ENV, "2")
    forked, fork = [], Beside._fork
    monkeypatch.setattr(Beside, "_fork", lambda self, die: forked.append(1) or fork(self, die))
    ingest.run(data_dir)
    assert forked and files() == alone


def test_a_fork_that_fails_leaves_the_work_to_this_process(alone, monkeypatch):
    def no_memory():
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_memory)
    with Beside(os.getpid) as work:
        assert work.pid is None
        assert work.result() == os.getpid()


def _files(data_dir) -> dict[str, bytes]:
    out = data_dir / "processed"
    return {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name != "ingest-stamp.json"}


def test_the_observations_are_written_while_they_are_validated_when_that_changes_nothing(data_dir, alone, monkeypatch):
    from kpi import validate

    events, fork, check = [], Beside._fork, validate.validate_observations
    monkeypatch.setattr(Beside, "_fork", lambda self, die: events.append("writer") or fork(self, die))
    monkeypatch.setattr(validate, "validate_observations", lambda obs: events.append("validated") or check(obs))
    ingest.run(data_dir)
    # the table had the schema's types, so validating gives it back: its two writers (the observations,
    # the changes) start before
    assert events == ["writer", "writer", "validated"]
    early = _files(data_dir)
    events.clear()
    monkeypatch.setattr(validate, "typed_as_schema", lambda table, frame: False)
    ingest.run(data_dir)
    assert events == ["validated", "writer", "writer"]  # otherwise the validated table is written
    assert _files(data_dir) == early


def test_a_schema_failure_stops_the_writer_that_started_before_it(data_dir, alone, monkeypatch):
    from kpi import validate
    from kpi.errors import KpiError

    ingest.run(data_dir)
    before = _files(data_dir)
    forked, fork = [], Beside._fork
    monkeypatch.setattr(Beside, "_fork", lambda self, die: forked.append(1) or fork(self, die))

    def fails(obs):
        time.sleep(0.3)  # the writer is well under way
        raise KpiError("observations do not match their schema:\n  year: a number failed for 'x'")

    monkeypatch.setattr(validate, "validate_observations", fails)
    with pytest.raises(KpiError, match="do not match their schema"):
        ingest.run(data_dir)
    assert forked and _files(data_dir) == before
    assert not list(data_dir.glob(".processed.staging-*"))
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # the writer was stopped and reaped: no child of this process is left


def test_the_reports_are_written_while_the_changes_still_are_and_a_failure_there_keeps_the_outputs(
    data_dir, alone, monkeypatch
):
    """The reports need the observations' row hashes, not the changes: they are written while the
    changes' writer is still at work; an error there still stops the ingest before the new folder
    is swapped in (the previous outputs stay whole)."""
    from kpi.errors import KpiError

    ingest.run(data_dir)
    before = _files(data_dir)
    reports, changes = ingest.write_reports, ingest.write_changes

    def note(event: str) -> None:  # from either process, in the order they come
        with open(data_dir / "events", "a", encoding="utf-8") as fh:
            fh.write(event + "\n")

    def slow_changes(*args):
        time.sleep(1.0)  # still at work when the reports are written
        changes(*args)
        note("changes written")

    monkeypatch.setattr(ingest, "write_changes", slow_changes)
    monkeypatch.setattr(ingest, "write_reports", lambda *a: note("reports started") or reports(*a))
    ingest.run(data_dir)
    assert (data_dir / "events").read_text(encoding="utf-8").split("\n")[:2] == ["reports started", "changes written"]
    assert _files(data_dir) == before  # the same files, the changes among them

    def fails(*args):
        raise KpiError("the changes could not be written (simulated)")

    monkeypatch.setattr(ingest, "write_changes", fails)
    with pytest.raises(KpiError, match="simulated"):
        ingest.run(data_dir)
    assert _files(data_dir) == before and not list(data_dir.glob(".processed.staging-*"))
