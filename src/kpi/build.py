"""``kpi build``: ingest, execute every notebook with papermill, render each to one HTML file.

# Load inputs: parameters checked, raw data ingested (its data version), the previous build's state.
# Process data: every notebook whose inputs changed is executed on the project's own kernel,
# up to ``jobs`` at a time; one that fails does not stop the others.
# Save outputs: ``reports/<lang>/<area>/<baseline>-<target>/<notebook>.html`` (self-contained:
# code hidden, images embedded, no request to any other host), the executed notebook beside it in
# ``_executed/``, ``reports/index.html`` and the state file -- each written atomically, under a lock.

A notebook is skipped when its inputs -- notebook bytes, data version, parameters and library
version -- are those of its last successful build and its report is still on disk.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import html
import json
import logging
import multiprocessing
import os
import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator
from urllib.parse import quote

import kpi
from kpi import config, labels, reads, render
from kpi.errors import KpiError, ParameterError
from kpi.write import atomic_write_text, run_lock

if TYPE_CHECKING:  # imported where used: a build with nothing to run stays quick
    import nbformat

    from kpi import executors

DEFAULT_TIMEOUT_S = 600  # a cell of these notebooks takes seconds; ten minutes means it hangs
KERNEL_START_TIMEOUT_S = 60  # a cold kernel start (imports on a slow disk) takes a few seconds
KERNEL_NAME = "kpi-project"  # a label only: ProjectKernelSpecManager never looks a kernelspec up
STATE_FILE = ".build-state.json"
KERNEL_LOG = ".warm-kernels.log"  # stderr of the kernels reused across reports (builds of many areas)
STATE_FORMAT = 2  # bump when the state layout changes: an unknown format means rebuild everything
EXECUTED_DIR = "_executed"
INDEX_FILE = render.INDEX_FILE
INJECTED_TAG = render.INJECTED_TAG
PAPERMILL_ERROR_TAG = render.PAPERMILL_ERROR_TAG

OK, SKIPPED, FAILED = "ok", "skipped", "failed"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Failure:
    """Where and why a notebook stopped: ``cell`` counts the notebook's own cells from 1 (None: before any)."""

    cell: int | None
    ename: str
    evalue: str

    def __str__(self) -> str:
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename


def where(cell: int | None) -> str:
    return f"at cell {cell}" if cell is not None else "before any cell ran"


@dataclass
class NotebookResult:
    name: str  # file name, e.g. tea.ipynb
    status: str  # ok, skipped or failed
    seconds: float
    html_path: Path | None
    executed_path: Path | None = None
    title: str = ""
    inputs: str = ""  # hash of the inputs this report was built from
    built_at: str = ""
    error_cell: int | None = None
    error_message: str | None = None
    area: str = ""
    theme: str = ""

    @property
    def message(self) -> str:
        """One line for the terminal: ``tea.ipynb failed at cell 5: ValueError: …``."""
        if self.status != FAILED:
            return f"{self.name}: {self.status}"
        return f"{self.name} failed {where(self.error_cell)}: {self.error_message}"


@dataclass
class BuildResult:
    notebooks: list[NotebookResult]
    index_path: Path
    data_version: str
    seconds: float
    areas: dict[str, list[NotebookResult]] = field(default_factory=dict)  # the results of each area

    @property
    def failed(self) -> list[NotebookResult]:
        return [r for r in self.notebooks if r.status == FAILED]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


# --------------------------------------------------------------------------- the kernel


def __getattr__(name: str) -> object:
    """The kernel classes live in ``kpi.kernels``; imported on first use, so a build with nothing
    to run (or ``kpi build --help``) does not pay for importing Jupyter."""
    if name in ("ProjectKernelManager", "ProjectKernelSpecManager", "project_kernel_spec"):
        from kpi import kernels

        return getattr(kernels, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- inputs and state


@dataclass(frozen=True)
class Run:
    """One set of parameters and the folder its reports go to."""

    baseline: int
    target: int
    area: str
    lang: str
    data_dir: Path
    reports_dir: Path

    @property
    def key(self) -> str:
        return f"{self.lang}/{self.area}/{self.baseline}-{self.target}"

    @property
    def folder(self) -> Path:
        return self.reports_dir / self.key

    def parameters(self) -> dict:
        """The notebook parameters papermill injects (``data_dir`` absolute: kernels start in notebooks/)."""
        return {"baseline_year": self.baseline, "target_year": self.target, "area_code": self.area,
                "lang": self.lang, "data_dir": str(self.data_dir)}


def library_version() -> str:
    """A hash of the library's code and version: a change to any module may change every report."""
    root = Path(kpi.__file__).resolve().parent
    digest = hashlib.sha256(kpi.__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def inputs_hash(notebook: Path, data: str, parameters: dict, library: str) -> str:
    """What a report is made from: its notebook, the data it reads (``kpi.reads``), parameters, library."""
    payload = json.dumps({
        "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(),
        "data": data, "parameters": parameters, "library": library,
    }, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_state(reports_dir: Path) -> dict:
    """The previous build's state; unreadable or of another format means nothing is up to date."""
    path = reports_dir / STATE_FILE
    if not path.exists():
        return {"format": STATE_FORMAT, "runs": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"build state {path.name} unreadable ({exc.__class__.__name__}); rebuilding every report", flush=True)
        return {"format": STATE_FORMAT, "runs": {}}
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        return {"format": STATE_FORMAT, "runs": {}}
    return state


def is_up_to_date(entry: dict | None, inputs: str, reports_dir: Path) -> bool:
    """Same inputs, not failed, and the report and executed notebook are still on disk."""
    if not entry or entry.get("inputs") != inputs or entry.get("status") == FAILED:
        return False
    paths = [entry.get("html"), entry.get("executed")]
    return all(p and (reports_dir / p).is_file() for p in paths)


def entry_of(result: NotebookResult, reports_dir: Path) -> dict:
    rel = lambda p: p.relative_to(reports_dir).as_posix() if p else None  # noqa: E731
    return {"inputs": result.inputs, "status": result.status, "seconds": round(result.seconds, 2),
            "html": rel(result.html_path), "executed": rel(result.executed_path), "title": result.title,
            "built_at": result.built_at, "error_cell": result.error_cell, "error": result.error_message,
            "theme": result.theme}


def result_of(name: str, entry: dict, reports_dir: Path) -> NotebookResult:
    """A skipped notebook's result, from the entry of the build that made its report."""
    return NotebookResult(
        name=name, status=SKIPPED, seconds=0.0, html_path=reports_dir / entry["html"],
        executed_path=reports_dir / entry["executed"] if entry.get("executed") else None,
        title=entry.get("title", ""), inputs=entry["inputs"], built_at=entry.get("built_at", ""),
        theme=entry.get("theme", ""))


# --------------------------------------------------------------------------- one notebook


@dataclass(frozen=True)
class Task:
    """Everything a worker process needs to execute and render one notebook (picklable)."""

    notebook: Path
    html_path: Path
    executed_path: Path
    index_href: str  # from the report back to reports/index.html
    parameters: dict
    header: dict  # area name, data version, build time: shown on the report
    title: str  # theme, area and period in the report's language (a notebook without a theme: its heading)
    theme: str
    nav: str  # links to the index, the other reports of the set and the other-language edition
    inputs: str
    timeout: int
    reuse_kernel: bool = False  # run in this worker's warm kernel (builds of many areas), not a fresh one
    kernel_log: str = ""  # the warm kernel's stderr goes there


def run_task(task: Task) -> NotebookResult:
    """Execute, then render, one notebook; a failure of either is a failed result, never an exception."""
    started = time.perf_counter()
    failure = execute_warm(task) if task.reuse_kernel else execute(task)
    title = task.title
    try:
        nb = read_for_render(task)
        if not task.theme:
            title = task.title.replace("\0", render.title_of(nb, task.notebook.stem))
        atomic_write_text(task.html_path, render.page(nb, task.notebook.parent, title, task.parameters, task.header,
                                                      task.nav, failure))
    except Exception as exc:  # noqa: BLE001 -- a report that cannot be rendered fails alone; the others go on
        task.html_path.unlink(missing_ok=True)  # a previous build's report would pass for this one
        failure = failure or Failure(None, "RenderError", f"{exc.__class__.__name__}: {first_line(exc)}")
    return NotebookResult(
        name=task.notebook.name, status=FAILED if failure else OK, seconds=time.perf_counter() - started,
        html_path=task.html_path if task.html_path.exists() else None,
        executed_path=task.executed_path if task.executed_path.exists() else None,
        title=title, inputs=task.inputs, built_at=task.header["built_at"],
        error_cell=failure.cell if failure else None, error_message=str(failure) if failure else None,
        area=task.parameters["area_code"], theme=task.theme)


def execute(task: Task) -> Failure | None:
    """Run the notebook with papermill into a partial file, then rename it over the executed notebook.

    papermill saves after every cell, so a notebook that fails, times out or loses its kernel
    still leaves what ran; the rename makes the executed notebook whole or the previous one.
    """
    import papermill
    from traitlets.config import Config

    from kpi.kernels import ProjectKernelManager

    task.executed_path.parent.mkdir(parents=True, exist_ok=True)
    partial = task.executed_path.with_name(f".{task.executed_path.stem}.{os.getpid()}.partial.ipynb")
    log = run_log_path(task.executed_path)
    log.write_bytes(b"")
    kernel_config = Config({"ProjectKernelManager": {"kernel_log": str(log)}})
    failure = None
    try:
        with papermill_logging_to(log):
            papermill.execute_notebook(
                str(task.notebook), str(partial), parameters=task.parameters,
                kernel_name=KERNEL_NAME, language="python", kernel_manager_class=ProjectKernelManager,
                config=kernel_config, start_timeout=KERNEL_START_TIMEOUT_S, execution_timeout=task.timeout,
                progress_bar=False, cwd=str(task.notebook.parent))
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


# --------------------------------------------------------------------------- warm kernels


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

        from kpi.kernels import ProjectKernelManager

        self.km = ProjectKernelManager(kernel_name=KERNEL_NAME,
                                       config=Config({"ProjectKernelManager": {"kernel_log": log}}))
        self.kc = None

    def run(self, nb: nbformat.NotebookNode, cwd: str, timeout: int, on_cell: Callable | None = None) -> None:
        """Execute ``nb`` in place: reset, then every cell; raises what nbclient raises (cell error, timeout)."""
        import nbformat
        from nbclient import NotebookClient

        reset = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RESET_CODE.format(cwd=cwd))])
        for notebook, hook in ((reset, None), (nb, on_cell)):
            client = NotebookClient(notebook, km=self.km, timeout=timeout, kernel_name=KERNEL_NAME,
                                    startup_timeout=KERNEL_START_TIMEOUT_S, on_cell_execute=hook)
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
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    task.executed_path.parent.mkdir(parents=True, exist_ok=True)
    log = run_log_path(task.executed_path)
    log.write_text(f"executed in the warm kernel of worker process {os.getpid()}; its stderr: {task.kernel_log}\n",
                   encoding="utf-8")
    # papermill's own reading (it gives every cell the metadata papermill expects) and injection
    nb = parameterize_notebook(load_notebook_node(str(task.notebook)), task.parameters,
                               kernel_name=KERNEL_NAME, language="python")
    started: list[int] = []
    kernel = warm_kernel(task.kernel_log)
    failure = None
    try:
        kernel.run(nb, str(task.notebook.parent), task.timeout, lambda cell, cell_index: started.append(cell_index))
    except CellExecutionError as exc:
        failure = Failure(own_number(nb, started), exc.ename, first_line(exc.evalue))
    except (CellTimeoutError, DeadKernelError) as exc:
        failure = (Failure(own_number(nb, started), "TimeoutError",
                           f"the cell ran longer than the {task.timeout} s allowed per cell")
                   if isinstance(exc, CellTimeoutError) else
                   Failure(own_number(nb, started), "DeadKernelError",
                           "the kernel died while running the cell (out of memory, or a crash)"))
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
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError
    import nbformat

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
    added = {INJECTED_TAG, PAPERMILL_ERROR_TAG}
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


# --------------------------------------------------------------------------- the build


def check_run(baseline: int, target: int, area: str, lang: str, data_dir: Path, reports_dir: Path, jobs: int,
              timeout: int, area_known: bool = False) -> Run:
    """The parameters, checked before any work (the notebook parameters by ``kpi.params``)."""
    from kpi import params

    checked = params.check(baseline, target, area, lang, data_dir, area_known=area_known)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs={jobs!r}: expected a whole number of notebooks at a time, 1 or more")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ParameterError(f"timeout={timeout!r}: expected seconds per cell, more than 0")
    if not re.fullmatch(r"[0-9A-Za-z+_-]+", area):
        raise ParameterError(f"area_code={area!r}: only letters, digits, '+', '_' and '-' can name a report folder")
    return Run(checked.baseline_year, checked.target_year, checked.area_code, checked.lang,
               Path(checked.data_dir).resolve(), reports_dir.resolve())


def checked_before(state: dict, data_dir: Path, key: str, force: bool, inputs: Callable[[], str]) -> dict | None:
    """The previous run of these parameters, when nothing the checks read has changed since.

    Its area was found in the gazetteer and its years in the data: with the same raw data,
    reference tables and library (the ingest stamp) and the same data version, the checks
    would give the same answer, so a rebuild with nothing to do skips them (and pandas).
    ``inputs`` gives the current ingest inputs hash (computed once per build, whatever the areas).
    """
    if force:
        return None
    stamp = state.get("ingest", {}).get(str(data_dir))
    entry = state.get("runs", {}).get(key)
    if not stamp or not entry or entry.get("data_version") != stamp.get("data_version"):
        return None
    if stamp.get("inputs") != inputs() or processed_version(data_dir) != stamp.get("data_version"):
        return None
    return entry


def find_notebooks(notebooks_dir: Path, only: str | list[str] | None = None) -> list[Path]:
    """The report notebooks of a folder; ``only`` (stems) picks some, and may name one that is not a
    report by default (``metadata.kpi.report: false``, like ``00_explore``)."""
    if not notebooks_dir.is_dir():
        raise KpiError(f"notebooks folder not found: {notebooks_dir}")
    found = sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))
    if only is not None:
        wanted = split_areas(only)
        stems = {p.stem: p for p in found}
        unknown = [w for w in wanted if w.removesuffix(".ipynb") not in stems]
        if unknown:
            raise ParameterError(f"--only {', '.join(unknown)}: no such notebook in {notebooks_dir} "
                                 f"(notebooks: {', '.join(stems)})")
        return [stems[w.removesuffix(".ipynb")] for w in wanted]
    found = [p for p in found if render.is_report(p)]
    if not found:
        raise KpiError(f"no notebook (*.ipynb) in {notebooks_dir}: nothing to build")
    return found


def pages_of(notebooks: list[Path], run: Run) -> dict[str, tuple[str, Path, str]]:
    """Each notebook's theme, report path and title in this run (the names say theme, area, period, language)."""
    pages = {}
    for notebook in notebooks:
        theme = render.notebook_theme(notebook)
        path = run.folder / render.file_name(notebook, theme, run.area, run.baseline, run.target, run.lang)
        pages[notebook.name] = (theme, path, render.title(theme, "\0", run.area, run.baseline, run.target, run.lang))
    return pages


def counterpart(key: str) -> str:
    """The run of the other language with the same area and period: ``vi/106/2012-2022`` → ``en/…``."""
    lang, rest = key.split("/", 1)
    return f"{'en' if lang == 'vi' else 'vi'}/{rest}"


def nav_of(state: dict, key: str, name: str, page: Path, siblings: list[render.PageRef], reports_dir: Path) -> str:
    other = state["runs"].get(counterpart(key), {}).get("notebooks", {}).get(name, {})
    other_path = reports_dir / other["html"] if other.get("html") else None
    return render.nav_html(page, reports_dir / INDEX_FILE, siblings, other_path, key.split("/", 1)[0])


def sibling_refs(entries: dict[str, dict], reports_dir: Path, lang: str) -> list[render.PageRef]:
    return [render.PageRef(labels.text("themes", e["theme"], lang) if e.get("theme") else Path(name).stem,
                           reports_dir / e["html"]) for name, e in sorted(entries.items()) if e.get("html")]


def refresh_navs(state: dict, runs: list[Run]) -> None:
    """Re-link the pages of this build's runs and of their other-language editions (which may be new)."""
    if not runs:
        return
    reports_dir = runs[0].reports_dir
    keys = dict.fromkeys(k for run in runs for k in (run.key, counterpart(run.key)))
    for key in keys:
        entries = state["runs"].get(key, {}).get("notebooks", {})
        siblings = sibling_refs(entries, reports_dir, key.split("/", 1)[0])
        for name, entry in entries.items():
            page = reports_dir / entry["html"] if entry.get("html") else None
            if page is not None and page.is_file():
                render.refresh_nav(page, nav_of(state, key, name, page, siblings, reports_dir))


def plan(notebooks: list[Path], run: Run, previous: dict, common: dict, force: bool,
         timeout: int, reuse_kernel: bool = False, state: dict | None = None) -> tuple[list[Task], list[NotebookResult]]:
    """Split the notebooks into tasks to run and results of reports that are up to date."""
    tasks, skipped = [], []
    pages = pages_of(notebooks, run)
    siblings = [render.PageRef(labels.text("themes", theme, run.lang) if theme else Path(name).stem, path)
                for name, (theme, path, _) in pages.items()]
    for notebook in notebooks:
        data = reads.data_inputs(reads.notebook_reads(notebook), config.DataPaths.of(run.data_dir).processed,
                                 common["data_version"])
        inputs = inputs_hash(notebook, data, run.parameters(), common["library"])
        entry = previous.get(notebook.name)
        theme, html_path, title = pages[notebook.name]
        if not force and is_up_to_date(entry, inputs, run.reports_dir) and entry.get("html") == \
                html_path.relative_to(run.reports_dir).as_posix():
            skipped.append(result_of(notebook.name, entry, run.reports_dir))
            continue
        tasks.append(Task(
            notebook=notebook, html_path=html_path, executed_path=run.folder / EXECUTED_DIR / notebook.name,
            index_href=os.path.relpath(run.reports_dir / INDEX_FILE, html_path.parent).replace(os.sep, "/"),
            parameters=run.parameters(), header=common["header"][run.area], title=title, theme=theme,
            nav=nav_of(state or {"runs": {}}, run.key, notebook.name, html_path, siblings, run.reports_dir),
            inputs=inputs, timeout=timeout, reuse_kernel=reuse_kernel,
            kernel_log=str(run.reports_dir / KERNEL_LOG) if reuse_kernel else ""))
    return tasks, skipped


def progress_line(number: int, total: int, result: NotebookResult, area: str = "") -> str:
    prefix = f"[{number}/{total}] {area + '/' if area else ''}{result.name}"
    if result.status == SKIPPED:
        return f"{prefix}: skipped (unchanged)"
    if result.status == FAILED:
        return f"{prefix}: failed {where(result.error_cell)} after {result.seconds:.1f} s: {result.error_message}"
    return f"{prefix}: finished in {result.seconds:.1f} s"


def execute_all(tasks: list[Task], jobs: int, echo: Callable[[str], None],
                pool: "executors.Executor | None" = None) -> Iterator[NotebookResult]:
    """Results in the order notebooks finish; ``jobs`` > 1 runs them in separate processes.

    With a Dask executor the tasks go to the cluster's workers instead (``jobs`` is then the cluster's).
    """
    if pool is not None and pool.name != "local":
        echo(f"{len(tasks)} notebook(s) sent to the {pool.name} workers")
        for _task, result in pool.as_completed(run_task, tasks):
            yield result
        return
    if jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            echo(f"{task.notebook.name}: started")
            yield run_task(task)
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


def outcome(future: Future, task: Task) -> NotebookResult:
    try:
        return future.result()
    except BrokenProcessPool:  # the worker itself died (not the kernel): say so, keep the others
        return NotebookResult(name=task.notebook.name, status=FAILED, seconds=0.0, html_path=None,
                              inputs=task.inputs, built_at=task.header["built_at"], area=task.parameters["area_code"],
                              error_message="BrokenProcessPool: the worker process running it stopped")


def save_states(state: dict, outcomes: list[tuple[Run, list[NotebookResult], dict]],
                still_there: set[str] = frozenset()) -> dict:
    """The state with this build's runs updated, written once; other runs keep the reports still on disk.

    A notebook of the folder not built this time (``--only``) keeps its entry and report;
    one no longer in the folder leaves the run, and so the index; a report renamed (other
    parameters give other names) leaves no file behind.
    """
    reports_dir = outcomes[0][0].reports_dir
    this_build = {run.key for run, _, _ in outcomes}
    on_disk = lambda e: bool(e.get("html")) and (reports_dir / e["html"]).is_file()  # noqa: E731
    runs = {key: {**other, "notebooks": {n: e for n, e in other["notebooks"].items() if on_disk(e)}}
            for key, other in state["runs"].items() if key not in this_build}
    runs = {key: run for key, run in runs.items() if run["notebooks"]}
    for run, results, header in outcomes:
        built = {r.name for r in results}
        old = state["runs"].get(run.key, {}).get("notebooks", {})
        kept = {n: e for n, e in old.items() if n not in built and n in still_there and on_disk(e)}
        new_pages = {p for r in results for p in (r.html_path, r.executed_path) if p}
        for name, entry in old.items():
            if name in kept:
                continue
            for rel in (entry.get("html"), entry.get("executed")):
                if rel and (reports_dir / rel) not in new_pages:
                    (reports_dir / rel).unlink(missing_ok=True)
        runs[run.key] = {"parameters": {k: v for k, v in run.parameters().items() if k != "data_dir"}, **header,
                         "notebooks": {**kept, **{r.name: entry_of(r, reports_dir) for r in results}}}
    new_state = {"format": STATE_FORMAT, "runs": runs, **({"ingest": state["ingest"]} if "ingest" in state else {})}
    atomic_write_text(reports_dir / STATE_FILE, json.dumps(new_state, ensure_ascii=False, indent=1) + "\n")
    return new_state


# --------------------------------------------------------------------------- ingest, when needed


def folder_fingerprint(folder: Path, digest: "hashlib._Hash") -> None:
    """Every file's path, size, mtime and content into ``digest`` (content: a touched but equal file is equal)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder).as_posix()}\0{stat.st_size}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def ingest_inputs(data_dir: Path) -> str:
    """A hash of what ``kpi ingest`` reads: the raw folder, the reference folder and the library."""
    digest = hashlib.sha256(library_version().encode())
    for folder in (config.DataPaths.of(data_dir).raw, config.REFERENCE_DIR):
        digest.update(str(folder.name).encode())
        if folder.is_dir():
            folder_fingerprint(folder, digest)
    return digest.hexdigest()[:16]


def processed_version(data_dir: Path) -> str | None:
    """The data version of ``processed/`` as the last ingest wrote it (None: missing or unreadable)."""
    processed = config.DataPaths.of(data_dir).processed
    try:
        if not (processed / "observations.parquet").is_file():
            return None
        with (processed / "datapackage.json").open(encoding="utf-8") as fh:
            return json.load(fh).get("version")
    except (OSError, ValueError):
        return None


def check_years(data_dir: Path, baseline: int, target: int) -> None:
    """Both years must be in the processed data: a report of an absent year is refused before any run."""
    import pandas as pd

    from kpi.config import DataPaths

    years = sorted(set(pd.read_parquet(DataPaths.of(data_dir).processed / "observations.parquet",
                                       columns=["year"])["year"].astype(int)))
    for name, year in (("baseline_year", baseline), ("target_year", target)):
        if year not in years:
            raise ParameterError(f"{name}={year}: no observation for {year} in the data "
                                 f"(years present: {', '.join(map(str, years))})")


def ingest_step(data_dir: Path, state: dict, force: bool, pool: "executors.Executor",
                echo: Callable[[str], None]) -> str:
    """Ingest unless nothing it reads changed since the last build's ingest; returns the data version.

    The stamp (inputs hash, data version) is kept in the build state, per data folder; the
    processed folder must still hold that version, so a deleted or re-ingested folder counts.
    """
    inputs = ingest_inputs(data_dir)
    stamps = state.setdefault("ingest", {})
    stamp = stamps.get(str(data_dir), {})
    if not force and stamp.get("inputs") == inputs and processed_version(data_dir) == stamp.get("data_version"):
        echo(f"ingest: skipped (raw data, reference tables and library unchanged); data version {stamp['data_version']}")
        return stamp["data_version"]
    from kpi import editions, ingest

    ingested = ingest.run(data_dir, map=pool.map if pool.name != "local" else None)
    echo(f"ingest: {ingested.summary_lines[0]}; rejects: {len(ingested.rejects)}")
    editions.snapshot(ingested.data_version, data_dir)  # the overview lists what changed since the last one
    stamps[str(data_dir)] = {"inputs": inputs, "data_version": ingested.data_version}
    return ingested.data_version


# --------------------------------------------------------------------------- many areas


def split_areas(areas: str | list[str]) -> list[str]:
    """``"03413, 03424"`` or a list: the codes in order, once each.

    >>> split_areas("03413, 03424,03413")
    ['03413', '03424']
    """
    codes = [c.strip() for c in areas.split(",")] if isinstance(areas, str) else [str(c).strip() for c in areas]
    return list(dict.fromkeys(c for c in codes if c))


def all_areas(data_dir: Path, target: int) -> list[str]:
    """``--areas all``: every area with data in the target year (not groups of communes), district first."""
    import pandas as pd

    from kpi import reference

    obs = pd.read_parquet(config.DataPaths.of(data_dir).processed / "observations.parquet",
                          columns=["area_code", "year"])
    gaz = reference.gazetteer()
    groups = set(gaz.areas.loc[gaz.areas["level"] == "group", "code"])
    codes = sorted(c for c in set(obs.loc[obs["year"] == target, "area_code"])
                   if c not in groups and gaz.known_code(c, target))
    district = config.DEFAULT_AREA
    if gaz.known_code(district, target):
        codes = [district] + [c for c in codes if c != district]
    if not codes:
        raise ParameterError(f"--areas all: no area has data for {target}")
    return codes


# --------------------------------------------------------------------------- the build


def build(baseline: int = 2012, target: int = 2022, area: str = "106", lang: str = "vi", jobs: int = 1,
          force: bool = False, data_dir: str | Path | None = None, notebooks_dir: str | Path | None = None,
          reports_dir: str | Path | None = None, timeout: int = DEFAULT_TIMEOUT_S,
          areas: str | list[str] | None = None, executor: str = "local", scheduler: str | None = None,
          only: str | list[str] | None = None) -> BuildResult:
    """Ingest, execute and render every notebook, write the index; progress goes to stdout.

    ``areas`` (codes, or ``"all"``: every area with data in the target year and the district)
    builds one set of reports per area instead of ``area``; their notebooks run in warm kernels,
    one per worker, reused from one report to the next.  ``executor="dask"`` with a scheduler
    address sends the files to read and the reports to render to a Dask cluster.

    Raises KpiError (one line) for bad parameters, unreadable data or a missing notebooks folder;
    a notebook that fails is a result with status ``failed`` and makes ``exit_code`` 1.
    """
    from kpi import executors

    started = time.perf_counter()
    echo = lambda line: print(line, flush=True)  # noqa: E731
    reports = Path(reports_dir) if reports_dir is not None else config.REPORTS_DIR
    data = Path(data_dir) if data_dir is not None else config.DATA_DIR
    codes = split_areas(areas) if areas is not None else [area]
    if not codes:
        raise ParameterError(f"--areas {areas!r}: expected area codes separated by commas, or all")
    previous_state = load_state(reports.resolve())  # read only: which of these runs were checked before
    runs, known = [], {}
    inputs = functools.lru_cache(maxsize=None)(lambda: ingest_inputs(data.resolve()))  # hashed once, if at all
    for code in codes:
        if code == "all":
            continue
        run = check_run(baseline, target, code, lang, data, reports, jobs, timeout, area_known=True)  # no area yet
        known[run.key] = checked_before(previous_state, run.data_dir, run.key, force, inputs)
        if known[run.key] is None:
            run = check_run(baseline, target, code, lang, data, reports, jobs, timeout)
        runs.append(run)
    notebooks = find_notebooks(Path(notebooks_dir) if notebooks_dir is not None else config.NOTEBOOKS_DIR, only)
    pool = executors.executor(executor, scheduler)
    reuse_kernel = areas is not None or len(notebooks) > 1  # one kernel per worker, reset between notebooks
    first = runs[0] if runs else check_run(baseline, target, config.DEFAULT_AREA, lang, data, reports, jobs, timeout)
    try:
        with run_lock(first.reports_dir, "build"):
            # Load inputs.
            state = load_state(first.reports_dir)
            version = ingest_step(first.data_dir, state, force, pool, echo)
            if not runs or any(known.get(r.key) is None for r in runs):
                check_years(first.data_dir, baseline, target)
            if "all" in codes:
                runs = [check_run(baseline, target, code, lang, data, reports, jobs, timeout)
                        for code in dict.fromkeys([r.area for r in runs] + all_areas(first.data_dir, target))]
                echo(f"areas: {len(runs)} ({', '.join(r.area for r in runs[:8])}{', …' if len(runs) > 8 else ''})")
            built_at = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
            common = {"data_version": version, "library": library_version(),
                      "header": {r.area: {"area_name": labels.area_name(r.area, r.target, r.lang),
                                          "data_version": version,
                                          "built_at": built_at} for r in runs}}
            # Process data.
            tasks, done = [], {r.key: [] for r in runs}
            for run in runs:
                previous = state["runs"].get(run.key, {}).get("notebooks", {})
                run_tasks, skipped = plan(notebooks, run, previous, common, force, timeout, reuse_kernel, state)
                tasks += run_tasks
                done[run.key] += skipped
            run_of = {task.html_path: run.key for run in runs for task in tasks if task.html_path.parent == run.folder}
            total, count = len(notebooks) * len(runs), 0
            multi = len(runs) > 1
            for run in runs:
                for result in done[run.key]:
                    count += 1
                    echo(progress_line(count, total, result, run.area if multi else ""))
            for task, result in zip_tasks(tasks, execute_all(tasks, jobs, echo if not multi else lambda _: None, pool)):
                key = run_of[task.html_path]
                done[key].append(result)
                count += 1
                echo(progress_line(count, total, result, task.parameters["area_code"] if multi else ""))
            # Save outputs.
            outcomes = [(run, sorted(done[run.key], key=lambda r: r.name), common["header"][run.area])
                        for run in runs]
            state = save_states(state, outcomes, {p.name for p in notebooks[0].parent.glob("*.ipynb")})
            refresh_navs(state, runs)
            index_path = first.reports_dir / INDEX_FILE
            atomic_write_text(index_path, render.index_html(state, runs[0].lang, first.reports_dir))
    finally:
        if reuse_kernel:
            if pool.name == "dask":
                with contextlib.suppress(Exception):
                    pool.run_on_workers(shutdown_warm_kernels)
            shutdown_warm_kernels()
        pool.close()
    results = [r for _, rs, _ in outcomes for r in rs]
    counts = {s: sum(r.status == s for r in results) for s in (OK, SKIPPED, FAILED)}
    echo(f"reports: {counts[OK]} ok, {counts[SKIPPED]} skipped (unchanged), {counts[FAILED]} failed "
         f"in {time.perf_counter() - started:.1f} s")
    return BuildResult(notebooks=results, index_path=index_path, data_version=version,
                       seconds=time.perf_counter() - started,
                       areas={run.area: rs for run, rs, _ in outcomes})


def zip_tasks(tasks: list[Task], results: Iterator[NotebookResult]) -> Iterator[tuple[Task, NotebookResult]]:
    """Each result with its task (results come in the order they finish), matched by the report's path."""
    by_html = {task.html_path: task for task in tasks}
    by_name_area = {(task.notebook.name, task.parameters["area_code"]): task for task in tasks}
    for result in results:
        task = by_html.get(result.html_path) or by_name_area[(result.name, result.area)]
        yield task, result
