"""Where the work of ``kpi ingest`` and ``kpi build`` runs: in this process, or on a Dask cluster.

``local`` (the default) needs nothing beyond the standard library: ``kpi ingest`` reads its
files here, or in forked processes of this machine when there are many (``read_map``), and
``kpi build`` runs ``--jobs`` notebooks at a time in worker processes.  ``dask`` sends every
file to read and every report to render to the workers of a running ``dask.distributed``
scheduler (``--executor dask --scheduler tcp://host:8786``); Dask is imported only then.  The
workers must see the same paths as the caller (a shared filesystem): they read ``data/raw`` and
the notebooks, and write the reports, where the caller would.

Every executor offers the same two calls, so the callers do not know which one runs:
``map(fn, items)`` returns the results in the order of ``items``; ``as_completed(fn, items)``
yields ``(item, result)`` pairs as they finish.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Protocol, TypeVar

from kpi.errors import ParameterError

if TYPE_CHECKING:
    from kpi.runs import NotebookResult, Task


EXECUTORS = ("local", "dask")


T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    name: str

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]: ...

    def as_completed(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """In this process, one item after the other (the ``--jobs`` pool of ``kpi build`` is separate)."""

    name = "local"

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        return [fn(item) for item in items]

    def as_completed(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        for item in items:
            yield item, fn(item)

    def close(self) -> None:
        pass


class DaskExecutor:
    """Items spread over the workers of a Dask distributed scheduler; results come back to the caller."""

    name = "dask"

    def __init__(self, scheduler: str):
        try:
            from dask.distributed import Client
        except ImportError as exc:  # the optional extra is not installed: say how to get it
            raise ParameterError(
                f"--executor dask needs Dask: pip install 'kpi[dask]' (importing dask.distributed failed: {exc})"
            ) from exc
        try:
            self.client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise ParameterError(f"--scheduler {scheduler}: no Dask scheduler answers there ({exc})") from exc

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        futures = self.client.map(fn, items, pure=False)
        return self.client.gather(futures)

    def as_completed(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        from dask.distributed import as_completed

        items = list(items)
        futures = self.client.map(fn, items, pure=False)
        position = {future.key: n for n, future in enumerate(futures)}
        for future in as_completed(futures):
            yield items[position[future.key]], future.result()

    def run_on_workers(self, fn: Callable[[], object]) -> None:
        """Call ``fn`` once on every worker (e.g. to shut down the kernels a build kept warm)."""
        self.client.run(fn)

    def close(self) -> None:
        self.client.close()


PARALLEL_FILES = 16  # fewer raw files are read one after the other: starting workers would cost more than it saves
JOBS_ENV = "KPI_INGEST_JOBS"  # processes reading raw files (1: all in this one)


def read_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``fn`` over ``items``, results in their order: in ``read_jobs()`` forked processes when there
    are ``PARALLEL_FILES`` or more, else here.

    Forked, not spawned: a worker starts with the library already imported (spawning one costs
    more than reading a province's files), and only where no other thread runs (``read_jobs``).
    Should the workers fail in any way (an error raised, one that cannot travel back, a worker
    killed), the items are read again here, so the caller meets exactly the error reading them
    in one process gives.
    """
    items = list(items)
    jobs = read_jobs()
    if jobs > 1 and len(items) >= PARALLEL_FILES:
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(
                max_workers=jobs, mp_context=context, initializer=_reader, initargs=(os.getpid(),)
            ) as pool:
                return list(pool.map(fn, items, chunksize=max(1, len(items) // (jobs * 8))))
        except Exception as exc:  # noqa: BLE001 -- read again below, where the error is raised as it is
            print(f"kpi: reading the files again in one process: the workers stopped ({exc!r})", file=sys.stderr)
    return [fn(item) for item in items]


def _reader(parent: int) -> None:
    """A forked reader's start: it ends with the ingest (``_die_with``), and Python's collections
    leave alone the objects it was forked with (a collection would walk them all, and write to
    each page it shares with the ingest: a copy of the page)."""
    import gc

    gc.freeze()
    _die_with(parent)


def _die_with(parent: int) -> None:
    """A forked reader ends when the process that forked it does, even killed (Linux's parent-death signal)."""
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def read_jobs() -> int:
    """How many processes read raw files: ``KPI_INGEST_JOBS``, else ``config.DEFAULT_JOBS``; one where
    forking is not safe or not possible: not Linux, a daemonic worker, other Python threads running,
    or ZeroMQ loaded (a kernel's or a build's messaging, whose threads Python does not see)."""
    from kpi import config

    try:
        jobs = int(os.environ.get(JOBS_ENV) or config.DEFAULT_JOBS)
    except ValueError:
        raise ParameterError(f"{JOBS_ENV}={os.environ[JOBS_ENV]!r}: expected a whole number of processes") from None
    return max(1, jobs) if fork_is_safe() else 1


def fork_is_safe() -> bool:
    """Whether this process may fork readers (see ``read_jobs``)."""
    forkable = sys.platform.startswith("linux") and not multiprocessing.current_process().daemon
    return forkable and threading.active_count() == 1 and "zmq" not in sys.modules


def executor(name: str = "local", scheduler: str | None = None) -> Executor:
    """The executor ``--executor name --scheduler address`` asks for; checked before any work.

    >>> executor("local").name
    'local'
    >>> executor("spark")
    Traceback (most recent call last):
    ...
    kpi.errors.ParameterError: --executor spark: expected one of local, dask
    >>> executor("dask")
    Traceback (most recent call last):
    ...
    kpi.errors.ParameterError: --executor dask needs --scheduler <address>, e.g. tcp://127.0.0.1:8786
    """
    if name not in EXECUTORS:
        raise ParameterError(f"--executor {name}: expected one of {', '.join(EXECUTORS)}")
    if name == "local":
        if scheduler:
            raise ParameterError("--scheduler is only used with --executor dask")
        return LocalExecutor()
    if not scheduler:
        raise ParameterError("--executor dask needs --scheduler <address>, e.g. tcp://127.0.0.1:8786")
    return DaskExecutor(scheduler)


# --------------------------------------------------------------------------- the reports of a build


def execute_all(
    tasks: list[Task], jobs: int, echo: Callable[[str], None], pool: Executor | None = None
) -> Iterator[NotebookResult]:
    """Results in the order notebooks finish; ``jobs`` > 1 runs them in separate processes.

    With a Dask executor the tasks go to the cluster's workers instead (``jobs`` is then the cluster's).
    """
    if not tasks:  # every report up to date: nothing to start (nor to import)
        return
    from kpi.engine import run_task

    if pool is not None and pool.name != "local":
        echo(f"{len(tasks)} notebook(s) sent to the {pool.name} workers")
        for _task, result in pool.as_completed(run_task, tasks):
            yield result
        return
    if jobs == 1 or len(tasks) <= 1:
        yield from one_at_a_time(tasks, echo)
        return
    if all(task.reuse_kernel for task in tasks):
        yield from warm_threads(tasks, jobs, echo)
        return
    # spawn, not fork: the parent may hold threads (zmq, a test's web server) that fork would copy half-way
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool_:
        queue, running = list(tasks), {}
        while queue or running:
            while queue and len(running) < jobs:
                task = queue.pop(0)
                echo(f"{task.notebook.name}: started")
                running[pool_.submit(run_task, task)] = task
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield outcome(future, running.pop(future))


def warm_threads(tasks: list[Task], jobs: int, echo: Callable[[str], None]) -> Iterator[NotebookResult]:
    """``jobs`` warm kernels at work at once, each driven by a thread of this process (the kernels'
    processes do the work; a thread mostly waits for its kernel), the reports rendered by one
    more thread.  Results in the order notebooks finish.

    The kernels started ahead of the build are taken first (``engine.prestart``); threads need
    no second Python with its own imports, as worker processes would.
    """
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from kpi.engine import execute

    with _renderer() as render, ThreadPoolExecutor(min(jobs, len(tasks)), thread_name_prefix="kpi-kernel") as threads:

        def run(task: Task) -> Future:
            echo(f"{task.notebook.name}: started")
            started = time.perf_counter()
            return render(task, execute(task), started)

        try:
            for future in as_completed([threads.submit(run, task) for task in tasks]):
                yield future.result().result()
        except BaseException:  # interrupted: stop the kernels now, so the threads end without running on
            from kpi import engine

            engine.shutdown_warm_kernels()
            raise


def one_at_a_time(tasks: list[Task], echo: Callable[[str], None]) -> Iterator[NotebookResult]:
    """One kernel, one notebook at a time; each report is rendered in a thread while the kernel runs the
    next notebook (the kernel's process and this one then use both processors).  Results in order."""
    from kpi.engine import execute

    with _renderer() as render:
        pending = None
        for task in tasks:
            echo(f"{task.notebook.name}: started")
            started = time.perf_counter()
            failure = execute(task)
            if pending is not None:
                yield pending.result()
            pending = render(task, failure, started)
        if pending is not None:
            yield pending.result()


@contextlib.contextmanager
def _renderer() -> Iterator[Callable[..., Future]]:
    """A thread rendering the executed notebooks (``engine.finish``) one after the other; it starts by
    compiling the exporter's templates, which the first report would otherwise wait for."""
    from concurrent.futures import ThreadPoolExecutor

    from kpi import render
    from kpi.engine import finish

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kpi-render") as renderer:
        renderer.submit(render.warm_up)
        yield functools.partial(renderer.submit, finish)


def outcome(future: Future, task: Task) -> NotebookResult:
    try:
        return future.result()
    except BrokenProcessPool:  # the worker itself died (not the kernel): say so, keep the others
        from kpi.runs import FAILED, NotebookResult

        return NotebookResult(
            name=task.notebook.name,
            status=FAILED,
            seconds=0.0,
            html_path=None,
            inputs=task.inputs,
            built_at=task.header["built_at"],
            area=task.parameters["area_code"],
            error_message="BrokenProcessPool: the worker process running it stopped",
        )
