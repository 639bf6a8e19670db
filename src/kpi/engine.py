"""Runs one notebook: papermill on the project's own kernel, cold or kept warm; failures mapped once.

The project's kernel is the interpreter running the build, whatever kernelspecs exist
(``ProjectKernelManager``).  A fresh kernel per report pays for starting Python and
importing pandas, matplotlib and ``kpi`` every time; a warm kernel (one per worker) pays
once and is reset between notebooks.  Both go through ``papermill.execute_notebook``: the
warm kernel is papermill's engine ``kpi-warm`` (``Engine.execute_managed_notebook``), so
parameters are injected and cell errors raised by papermill alike, and a notebook that
fails, times out or loses its kernel is a ``Failure`` (``kpi.failures``) naming the
notebook's own cell number, never an exception.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import jupyter_client
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from traitlets import Unicode, default

from kpi import zygote
from kpi.failures import describe_failure, first_line
from kpi.runlog import papermill_log, run_log_path
from kpi.runs import FAILED, KERNEL_NAME, KERNEL_START_TIMEOUT_S, OK, Failure, NotebookResult, Task
from kpi.write import atomic_write_text

if TYPE_CHECKING:
    import nbformat

# jsonschema (imported by nbformat) loads rfc3987_syntax when it is installed, which builds a
# grammar at import (0.7 s to 2.7 s here); nbformat's schema checks no IRI, so the build goes without it
sys.modules.setdefault("rfc3987_syntax", None)


def project_kernel_spec() -> KernelSpec:
    """The kernel of the interpreter running the build, whatever kernelspecs are (not) installed.

    A notebook saved elsewhere names a kernel (``python3``, ``conda-env-x``) that may not exist
    here; looking it up would fail with NoSuchKernel or run another environment's Python.
    The metadata (e.g. CurveZMQ support) is what the installed ipykernel declares for itself.
    """
    from ipykernel.kernelspec import get_kernel_dict

    declared = get_kernel_dict()
    return KernelSpec(
        argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="Python (kpi)",
        language="python",
        env={
            # the inline backend embeds PNG figures even if the caller's shell sets MPLBACKEND=Agg
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            # silences the debugger's frozen-modules warning that would clutter the build's stderr
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        },
        metadata=declared.get("metadata", {}),
        kernel_protocol_version=declared.get("kernel_protocol_version", ""),
    )


class ProjectKernelSpecManager(KernelSpecManager):
    """Answers every kernel name with the project's own kernel: no lookup, so no NoSuchKernel."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return project_kernel_spec()


class ProjectKernelManager(jupyter_client.AsyncKernelManager):
    """nbclient's kernel manager, started from ``ProjectKernelSpecManager``.

    ``kernel_log`` (set through the client's traitlets config) receives the kernel process's own
    stderr: ipykernel's log lines (it reports the interrupt sent at every shutdown) and whatever a
    crashing native library prints stay with the executed notebook instead of the build's terminal.
    """

    kernel_log = Unicode("", help="file for the kernel process's stderr; empty: inherit").tag(config=True)
    preload = Unicode("", help="a module the kernel imports as it starts, before it answers").tag(config=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        return cmd + [f"--IPKernelApp.exec_lines=import {self.preload}"] if self.preload else cmd

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return ProjectKernelSpecManager()

    @default("transport_encryption")
    def _transport_encryption_default(self) -> str:
        # encrypted loopback when libzmq can, which also spares every kernel's plain-TCP warning on stderr
        import zmq

        return "auto" if zmq.has("curve") else "disabled"

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
        if self.preload and zygote.fork_kernel(self, kernel_cmd, kw):  # a warm kernel: forked where it can be
            return None
        if not self.kernel_log:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        with open(self.kernel_log, "ab") as log:  # the child holds its own copy once started
            return await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": log})

    @property
    def ipykernel(self) -> bool:
        # it is one, whatever its name: nbclient then keeps IPython's history in memory, so
        # parallel kernels do not contend for one history database
        return True


def run_task(task: Task) -> NotebookResult:
    """Execute, then render, one notebook; a failure of either is a failed result, never an exception."""
    started = time.perf_counter()
    return finish(task, execute(task), started)


def finish(task: Task, failure: Failure | None, started: float) -> NotebookResult:
    """Render an executed notebook to its report and say how it went (a render that fails fails alone)."""
    from kpi import render  # here, not above: starting a kernel needs no pandas

    title = task.title
    try:
        nb = read_for_render(task)
        if not task.theme:
            title = task.title.replace("\0", render.title_of(nb, task.notebook.stem))
        atomic_write_text(
            task.html_path,
            render.page(nb, task.notebook.parent, title, task.parameters, task.header, task.nav, failure),
        )
    except Exception as exc:  # noqa: BLE001 -- a report that cannot be rendered fails alone; the others go on
        task.html_path.unlink(missing_ok=True)  # a previous build's report would pass for this one
        failure = failure or Failure(None, "RenderError", f"{exc.__class__.__name__}: {first_line(exc)}")
    return NotebookResult(
        name=task.notebook.name,
        status=FAILED if failure else OK,
        seconds=time.perf_counter() - started,
        html_path=task.html_path if task.html_path.exists() else None,
        executed_path=task.executed_path if task.executed_path.exists() else None,
        title=title,
        inputs=task.inputs,
        built_at=task.header["built_at"],
        error_cell=failure.cell if failure else None,
        error_message=str(failure) if failure else None,
        area=task.parameters["area_code"],
        theme=task.theme,
    )


def execute(task: Task) -> Failure | None:
    """Run the notebook with papermill into a partial file, then rename it over the executed notebook.

    One path for both ways of running: a fresh project kernel (papermill's nbclient engine,
    which saves after every cell) or this worker's warm kernel (``WarmEngine``, registered
    with papermill as ``kpi-warm``, which saves once, and on a timeout or a dead kernel).  A
    notebook that fails, times out or loses its kernel still leaves what ran, and its failure
    is described once (``describe_failure``); the rename makes the executed notebook whole or
    the previous one.  Neither changes the process's working folder: the kernel starts in
    the notebook's folder (``resources``), or is moved there by the warm kernel's reset.
    """
    import papermill
    from traitlets.config import Config

    task.executed_path.parent.mkdir(parents=True, exist_ok=True)
    partial = task.executed_path.with_name(f".{task.executed_path.stem}.{os.getpid()}.partial.ipynb")
    log = run_log_path(task.executed_path)
    log.write_bytes(b"")
    folder = str(task.notebook.parent)
    if task.reuse_kernel:
        log.write_text(f"executed in the warm kernel of worker process {os.getpid()}; its stderr: {task.kernel_log}\n")
        how = {
            "engine_name": WARM_ENGINE,
            "request_save_on_cell_execute": False,
            "kernel_log": task.kernel_log,
            "folder": folder,
            "partial": str(partial),
        }
    else:
        how = {
            "kernel_manager_class": ProjectKernelManager,
            "resources": {"metadata": {"path": folder}},
            "config": Config({"ProjectKernelManager": {"kernel_log": str(log)}}),
        }
    failure = None
    try:
        with papermill_log(log, _warm_engine_registered):
            _executed[task.executed_path] = papermill.execute_notebook(
                str(task.notebook),
                str(partial),
                parameters=task.parameters,
                kernel_name=KERNEL_NAME,
                language="python",
                start_timeout=KERNEL_START_TIMEOUT_S,
                execution_timeout=task.timeout,
                progress_bar=False,
                **how,
            )
    except Exception as exc:  # noqa: BLE001 -- whatever stops one notebook is recorded; the others still run
        failure = describe_failure(exc, partial, task.timeout)
    except BaseException:  # interrupted: keep the previous executed notebook, leave no partial file
        partial.unlink(missing_ok=True)
        raise
    if partial.exists():
        os.replace(partial, task.executed_path)
    elif failure:
        task.executed_path.unlink(missing_ok=True)  # a stale success would contradict the failure
    return failure


RESET_CODE = """\
get_ipython().run_line_magic("reset", "-f")
import matplotlib as _mpl, matplotlib.pyplot as _plt
_plt.close("all")
_plt.style.use("default")  # matplotlib's default style; backend and interactive mode are left as they are
_plt.ion()  # the inline backend shows a cell's figures only in interactive mode
import os as _os
_os.chdir({cwd!r})
del _mpl, _plt, _os
get_ipython().execution_count = 1
import gc as _gc
_gc.freeze()  # what survived the reset (the modules) is left out of later collections: they stay quick
del _gc
"""  # a clean namespace, figures and style for the next notebook; the imported modules stay loaded


class WarmKernel:
    """One project kernel kept running for many notebooks of a build (builds of many areas).

    A fresh papermill run pays for a kernel start and for importing pandas, matplotlib and
    ``kpi`` on every notebook; here those are paid once per worker.  Before each notebook the
    namespace is reset (``%reset -f``), figures closed, matplotlib's settings restored and the
    working folder set to the notebook's, so a notebook sees what a fresh kernel would show it
    -- except modules already imported, which is the point.  A kernel that timed out or died
    is replaced.
    """

    def __init__(self, log: str):
        from traitlets.config import Config

        config = Config({"ProjectKernelManager": {"kernel_log": log, "preload": PRELOAD}})
        self.km = ProjectKernelManager(kernel_name=KERNEL_NAME, config=config)
        self.kc = None

    def start(self, cwd: str) -> None:
        """Start the kernel process now; it imports ``PRELOAD`` while the caller goes on (the build ingests)."""
        from jupyter_core.utils import run_sync

        if not self.km.has_kernel:  # as nbclient starts it: IPython's history in memory, not a shared database
            run_sync(self.km.start_kernel)(cwd=cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"])

    def reset(self, cwd: str, timeout: int) -> None:
        """A clean namespace, figures and style, and ``cwd`` as the working folder, for the next notebook."""
        import nbformat
        from nbclient import NotebookClient

        reset = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RESET_CODE.format(cwd=cwd))])
        client = NotebookClient(
            reset, km=self.km, timeout=timeout, kernel_name=KERNEL_NAME, startup_timeout=KERNEL_START_TIMEOUT_S
        )
        client.kc = self.kc
        try:
            client.execute(cwd=cwd)
        finally:
            self.kc = client.kc

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):  # already gone: nothing to stop
            if self.kc is not None:
                self.kc.stop_channels()
        with contextlib.suppress(Exception):
            if self.km.has_kernel:
                from jupyter_core.utils import run_sync

                run_sync(self.km.shutdown_kernel)(now=True)


PRELOAD = "kpi.report"  # what every report notebook imports first: pandas, matplotlib and the library


def prestart(log: str, cwd: str, count: int = 1) -> None:
    """Start ``count`` warm kernels ahead of the notebooks (they import while the build ingests); the
    build's threads take them as they start (``warm_kernel``)."""
    with _taking:
        for _ in range(count - len(_spare)):
            kernel = WarmKernel(log)
            _all_warm.append(kernel)
            kernel.start(cwd)
            _spare.append(kernel)


_warm = threading.local()  # one warm kernel per worker thread (a Dask worker may run several threads)

_all_warm: list[WarmKernel] = []

_spare: list[WarmKernel] = []  # started ahead (``prestart``), not yet taken by a thread

_taking = threading.Lock()


def warm_kernel(log: str) -> WarmKernel:
    """This thread's warm kernel: one started ahead if there is one, else a new one (started by its first run)."""
    kernel = getattr(_warm, "kernel", None)
    if kernel is None:
        with _taking:
            kernel = _spare.pop(0) if _spare else WarmKernel(log)
            if kernel not in _all_warm:
                _all_warm.append(kernel)
        _warm.kernel = kernel
    return kernel


def shutdown_warm_kernels() -> None:
    """Stop every warm kernel of this process (end of a build; also at exit of a worker process),
    and the zygote they were forked from."""
    with _taking:
        _spare.clear()
        while _all_warm:
            _all_warm.pop().shutdown()
    _warm.kernel = None
    zygote.stop_shared()


atexit.register(shutdown_warm_kernels)


def drop_warm_kernel(kernel: WarmKernel) -> None:
    """Stop a kernel that timed out or died: the next notebook of this worker gets a new one."""
    kernel.shutdown()
    if kernel in _all_warm:
        _all_warm.remove(kernel)
    _warm.kernel = None


def ready_warm_kernel(log: str, folder: str, timeout: int) -> WarmKernel:
    """This worker's warm kernel, reset for the next notebook (``WarmKernel.reset``).  A kernel that
    dies before it answers has run nothing of the notebook (a port it was given, taken by another
    program before it started, would do it): it is replaced once by a new one."""
    kernel = warm_kernel(log)
    try:
        kernel.reset(folder, timeout)
    except RuntimeError as exc:  # jupyter_client's words for it (nbclient's DeadKernelError is one too)
        if "Kernel died before replying to kernel_info" not in str(exc):
            raise
        drop_warm_kernel(kernel)
        kernel = warm_kernel(log)
        kernel.reset(folder, timeout)
    return kernel


WARM_ENGINE = "kpi-warm"


def _warm_engine() -> type:
    """papermill's engine interface over this worker's warm kernel, registered as ``kpi-warm``.

    papermill reads the notebook, injects the parameters, keeps each cell's metadata and turns
    a cell's error into ``PapermillExecutionError``, as for any engine; this one runs the cells
    in the warm kernel after resetting it, saves the notebook once (at the end, or when a
    timeout or a dead kernel stops it: ``describe_failure`` then finds the cell in it).
    """
    from papermill.engines import Engine, papermill_engines

    class WarmEngine(Engine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            start_timeout=KERNEL_START_TIMEOUT_S,
            execution_timeout=None,
            kernel_log="",
            folder="",
            partial="",
            **kwargs,
        ):
            import nbformat
            from nbclient.exceptions import CellTimeoutError, DeadKernelError
            from papermill.clientwrap import PapermillNotebookClient

            kernel = ready_warm_kernel(kernel_log, folder, execution_timeout)
            client = PapermillNotebookClient(
                nb_man,
                km=kernel.km,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
            )
            client.kc = kernel.kc
            try:
                return client.execute()
            except (CellTimeoutError, DeadKernelError):
                atomic_write_text(Path(partial), nbformat.writes(nb_man.nb))  # what ran, to find the cell
                drop_warm_kernel(kernel)
                raise
            finally:
                kernel.kc = client.kc

    papermill_engines.register(WARM_ENGINE, WarmEngine)
    return WarmEngine


_warm_engine_registered = functools.cache(_warm_engine)


def read_for_render(task: Task) -> nbformat.NotebookNode:
    """The executed notebook, or the source one when the kernel never ran it (its prose still shows)."""
    import nbformat

    executed = _executed.pop(task.executed_path, None)  # as papermill returned it: not read back (and validated)
    if executed is not None and task.executed_path.exists():
        return executed
    path = task.executed_path if task.executed_path.exists() else task.notebook
    return nbformat.read(path, as_version=4)


_executed: dict = {}  # executed path → the notebook papermill returned, until its report is rendered
