"""One piece of work run beside this process, on the other core, while this one goes on.

``kpi ingest`` writes the observations (``observations.csv`` and ``.parquet``, and their row
hashes) in one forked process and the changes 2012 -> 2022 in another while it validates and
checks them: three pieces of work of about the same length, and a fork starts with the final
table already in its memory, so nothing is copied to it.  Only the result comes back (pickled
through a pipe).

Where forking is not safe or not wanted (``kpi.executors.read_jobs`` is 1: ``KPI_INGEST_JOBS=1``,
other threads running, a kernel's ZeroMQ loaded, not Linux), the work is done here when its
result is asked for.  Should the forked process fail in any way (an error raised, a result that
cannot be pickled, the process killed), the work is done again here, so the caller meets exactly
the error doing it in one process gives.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Beside(Generic[T]):
    """``fn()`` started in a forked process now; ``result()`` waits for it and returns its value.

    Used as a context manager, so that leaving the block on an error stops the process.
    """

    def __init__(self, fn: Callable[[], T]):
        from kpi import executors

        self.fn = fn
        self.pid: int | None = None
        if executors.read_jobs() > 1:
            self._fork(executors._die_with)

    def _fork(self, die_with: Callable[[int], None]) -> None:
        parent = os.getpid()
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # no memory or no process left for it: the work is done here when asked for
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the forked process: do the work, send its value, leave without Python's exit
            os.close(read)
            code = 1
            try:
                gc.freeze()  # a collection would touch (and so copy) every page it shares with the parent
                die_with(parent)
                payload = pickle.dumps(self.fn(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(payload)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self.pid, self._read = pid, read

    def __enter__(self) -> Beside[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def result(self) -> T:
        if self.pid is None:
            return self.fn()
        with os.fdopen(self._read, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if os.waitstatus_to_exitcode(status) == 0:
            return pickle.loads(payload)
        return self.fn()  # it failed there: here, its error is raised as it is

    def stop(self) -> None:
        """The forked process ended and waited for, if its result was never asked for (an error on
        the way): nothing is left running, nor writing into a folder about to be removed."""
        if self.pid is not None:
            import signal

            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            with contextlib.suppress(OSError):
                os.close(self._read)  # (already closed if the result was being read)
            self.pid = None
