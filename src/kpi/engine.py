"""Runs one notebook: papermill on the project's own kernel, cold or kept warm; failures mapped once.

The project's kernel is the interpreter running the build, whatever kernelspecs exist
(``ProjectKernelManager``).  A fresh kernel per report pays for starting Python and
importing pandas, matplotlib and ``kpi`` every time; a warm kernel (one per worker) pays
once and is reset between notebooks.  Either way a notebook that fails, times out or loses
its kernel is a ``Failure`` naming the notebook's own cell number, never an exception.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import jupyter_client
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from traitlets import Unicode, default

from kpi import render
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

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return ProjectKernelSpecManager()

    @default("transport_encryption")
    def _transport_encryption_default(self) -> str:
        # encrypted loopback when libzmq can, which also spares every kernel's plain-TCP warning on stderr
        import zmq

        return "auto" if zmq.has("curve") else "disabled"

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
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
    failure = execute_warm(task) if task.reuse_kernel else execute(task)
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

    papermill saves after every cell, so a notebook that fails, times out or loses its kernel
    still leaves what ran; the rename makes the executed notebook whole or the previous one.
    """
    import papermill
    from traitlets.config import Config

    task.executed_path.parent.mkdir(parents=True, exist_ok=True)
    partial = task.executed_path.with_name(f".{task.executed_path.stem}.{os.getpid()}.partial.ipynb")
    log = run_log_path(task.executed_path)
    log.write_bytes(b"")
    kernel_config = Config({"ProjectKernelManager": {"kernel_log": str(log)}})
    failure = None
    try:
        with papermill_logging_to(log):
            papermill.execute_notebook(
                str(task.notebook),
                str(partial),
                parameters=task.parameters,
                kernel_name=KERNEL_NAME,
                language="python",
                kernel_manager_class=ProjectKernelManager,
                config=kernel_config,
                start_timeout=KERNEL_START_TIMEOUT_S,
                execution_timeout=task.timeout,
                progress_bar=False,
                cwd=str(task.notebook.parent),
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

        self.km = ProjectKernelManager(
            kernel_name=KERNEL_NAME, config=Config({"ProjectKernelManager": {"kernel_log": log}})
        )
        self.kc = None

    def run(self, nb: nbformat.NotebookNode, cwd: str, timeout: int, on_cell: Callable | None = None) -> None:
        """Execute ``nb`` in place: reset, then every cell; raises what nbclient raises (cell error, timeout)."""
        import nbformat
        from nbclient import NotebookClient

        reset = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RESET_CODE.format(cwd=cwd))])
        for notebook, hook in ((reset, None), (nb, on_cell)):
            client = NotebookClient(
                notebook,
                km=self.km,
                timeout=timeout,
                kernel_name=KERNEL_NAME,
                startup_timeout=KERNEL_START_TIMEOUT_S,
                on_cell_execute=hook,
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


_warm = threading.local()  # one warm kernel per worker thread (a Dask worker may run several threads)

_all_warm: list[WarmKernel] = []


def warm_kernel(log: str) -> WarmKernel:
    kernel = getattr(_warm, "kernel", None)
    if kernel is None:
        kernel = _warm.kernel = WarmKernel(log)
        _all_warm.append(kernel)
    return kernel


def shutdown_warm_kernels() -> None:
    """Stop every warm kernel of this process (end of a build; also at exit of a worker process)."""
    while _all_warm:
        _all_warm.pop().shutdown()
    _warm.kernel = None


atexit.register(shutdown_warm_kernels)


def execute_warm(task: Task) -> Failure | None:
    """Like ``execute``, in this worker's warm kernel: papermill's injected cell, nbclient's execution."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    task.executed_path.parent.mkdir(parents=True, exist_ok=True)
    log = run_log_path(task.executed_path)
    log.write_text(
        f"executed in the warm kernel of worker process {os.getpid()}; its stderr: {task.kernel_log}\n",
        encoding="utf-8",
    )
    # papermill's own reading (it gives every cell the metadata papermill expects) and injection
    nb = parameterize_notebook(
        load_notebook_node(str(task.notebook)), task.parameters, kernel_name=KERNEL_NAME, language="python"
    )
    started: list[int] = []
    kernel = warm_kernel(task.kernel_log)
    failure = None
    try:
        kernel.run(nb, str(task.notebook.parent), task.timeout, lambda cell, cell_index: started.append(cell_index))
    except CellExecutionError as exc:
        failure = Failure(own_number(nb, started), exc.ename, first_line(exc.evalue))
    except (CellTimeoutError, DeadKernelError) as exc:
        failure = (
            Failure(
                own_number(nb, started),
                "TimeoutError",
                f"the cell ran longer than the {task.timeout} s allowed per cell",
            )
            if isinstance(exc, CellTimeoutError)
            else Failure(
                own_number(nb, started),
                "DeadKernelError",
                "the kernel died while running the cell (out of memory, or a crash)",
            )
        )
        kernel.shutdown()  # the next notebook gets a new kernel
        _all_warm.remove(kernel)
        _warm.kernel = None
    except Exception as exc:  # noqa: BLE001 -- whatever stops one notebook is recorded; the others still run
        failure = Failure(own_number(nb, started), exc.__class__.__name__, first_line(exc))
    atomic_write_text(task.executed_path, nbformat.writes(nb))
    return failure


def own_number(nb: nbformat.NotebookNode, started: list[int]) -> int | None:
    """The notebook's own number (``own_cells``) of the last cell started, None if none was."""
    if not started:
        return None
    cell = nb.cells[started[-1]]
    own = own_cells(nb)
    return next((n for n, c in enumerate(own, start=1) if c is cell), None)


def run_log_path(executed_path: Path) -> Path:
    """``_executed/<notebook>.log``: papermill's messages and the kernel's stderr, for debugging."""
    return executed_path.with_suffix(".log")


@contextlib.contextmanager
def papermill_logging_to(path: Path) -> Iterator[None]:
    """Send papermill's log (which repeats every cell error) to the notebook's log file, not the terminal."""
    logger = logging.getLogger("papermill")
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("[papermill] %(levelname)s | %(message)s"))
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.propagate = propagate


def describe_failure(exc: Exception, partial: Path, timeout: int) -> Failure:
    """The failing cell (as the notebook numbers it) and a one-line cause, whatever stopped the run."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        cell = failing_cell(nbformat.read(partial, as_version=4)) if partial.exists() else None
    except (OSError, ValueError):  # cut short while papermill was writing it: the cause still counts
        cell = None
    if isinstance(exc, PapermillExecutionError):
        return Failure(cell, exc.ename, first_line(exc.evalue))
    if isinstance(exc, CellTimeoutError):
        return Failure(cell, "TimeoutError", f"the cell ran longer than the {timeout} s allowed per cell")
    if isinstance(exc, DeadKernelError):
        return Failure(cell, "DeadKernelError", "the kernel died while running the cell (out of memory, or a crash)")
    return Failure(cell, exc.__class__.__name__, first_line(exc))


def first_line(exc: object) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else ""


def own_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The notebook's cells as its author numbers them: without papermill's injected and banner cells."""
    added = {render.INJECTED_TAG, render.PAPERMILL_ERROR_TAG}
    return [c for c in nb.cells if not added.intersection(c.get("metadata", {}).get("tags", []))]


def failing_cell(nb: nbformat.NotebookNode) -> int | None:
    """1-based number of the cell that raised, or else of the last cell started (timeout, dead kernel).

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("1")])
    >>> nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="E", evalue="", traceback=[])]
    >>> failing_cell(nb)
    2
    """
    cells = own_cells(nb)
    for number, cell in enumerate(cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return number
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            return number
    started = [n for n, c in enumerate(cells, start=1) if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    return started[-1] if started else None


def read_for_render(task: Task) -> nbformat.NotebookNode:
    """The executed notebook, or the source one when the kernel never ran it (its prose still shows)."""
    import nbformat

    path = task.executed_path if task.executed_path.exists() else task.notebook
    return nbformat.read(path, as_version=4)
