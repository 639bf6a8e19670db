"""``kpi build``: plan the reports, have the engine run those whose inputs changed, write the index.

# Load inputs: parameters checked, raw data ingested when it changed (its data version), the
# previous build's state.
# Process data: every notebook whose inputs changed is executed (``kpi.engine``), up to ``jobs``
# at a time (``kpi.executors``); one that fails does not stop the others.
# Save outputs: ``reports/<lang>/<area>/<baseline>-<target>/<report>.html`` (``kpi.render``), the
# executed notebook beside it in ``_executed/``, ``reports/index.html`` and the state file
# (``kpi.buildstate``) -- each written atomically, under a lock.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from kpi import areasets, buildstate, config, labels, reads, render, stamps
from kpi.errors import KpiError, ParameterError
from kpi.runs import (
    DEFAULT_TIMEOUT_S,
    EXECUTED_DIR,
    FAILED,
    KERNEL_LOG,
    OK,
    SKIPPED,
    BuildResult,
    NotebookResult,
    Run,
    Task,
    where,
)
from kpi.write import atomic_write_text, run_lock

INDEX_FILE = render.INDEX_FILE


def check_run(
    baseline: int,
    target: int,
    area: str,
    lang: str,
    data_dir: Path,
    reports_dir: Path,
    jobs: int,
    timeout: int,
    area_known: bool = False,
) -> Run:
    """The parameters, checked before any work (the notebook parameters by ``kpi.params``)."""
    from kpi import params

    checked = params.check(baseline, target, area, lang, data_dir, area_known=area_known)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs={jobs!r}: expected a whole number of notebooks at a time, 1 or more")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ParameterError(f"timeout={timeout!r}: expected seconds per cell, more than 0")
    if not re.fullmatch(r"[0-9A-Za-z+_-]+", area):
        params.check_area(area, checked.baseline_year, checked.target_year)  # a name typed for a code: which one
        raise ParameterError(f"area_code={area!r}: only letters, digits, '+', '_' and '-' can name a report folder")
    return Run(
        checked.baseline_year,
        checked.target_year,
        checked.area_code,
        checked.lang,
        Path(checked.data_dir).resolve(),
        reports_dir.resolve(),
    )


def find_notebooks(notebooks_dir: Path, only: str | list[str] | None = None) -> list[Path]:
    """The report notebooks of a folder; ``only`` (stems) picks some, and may name one that is not a
    report by default (``metadata.kpi.report: false``, like ``00_explore``)."""
    if not notebooks_dir.is_dir():
        raise KpiError(f"notebooks folder not found: {notebooks_dir}")
    found = sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))
    if only is not None:
        wanted = areasets.split_areas(only)
        stems = {p.stem: p for p in found}
        unknown = [w for w in wanted if w.removesuffix(".ipynb") not in stems]
        if unknown:
            raise ParameterError(
                f"--only {', '.join(unknown)}: no such notebook in {notebooks_dir} (notebooks: {', '.join(stems)})"
            )
        return [stems[w.removesuffix(".ipynb")] for w in wanted]
    found = [p for p in found if render.is_report(p)]
    if not found:
        raise KpiError(f"no notebook (*.ipynb) in {notebooks_dir}: nothing to build")
    return found


def pages_of(notebooks: list[Path], run: Run, area_name: str) -> dict[str, tuple[str, Path, str]]:
    """Each notebook's theme, report path and title in this run (the names say theme, area, period, language)."""
    pages = {}
    for notebook in notebooks:
        theme = render.notebook_theme(notebook)
        path = run.folder / render.file_name(notebook, theme, area_name, run.baseline, run.target, run.lang)
        pages[notebook.name] = (theme, path, render.title(theme, "\0", area_name, run.baseline, run.target, run.lang))
    return pages


def plan(
    notebooks: list[Path],
    run: Run,
    previous: dict,
    common: dict,
    force: bool,
    timeout: int,
    reuse_kernel: bool = False,
    state: dict | None = None,
) -> tuple[list[Task], list[NotebookResult]]:
    """Split the notebooks into tasks to run and results of reports that are up to date."""
    tasks, skipped = [], []
    pages = pages_of(notebooks, run, common["header"][run.area]["area_name"])
    siblings = [
        render.PageRef(labels.text("themes", theme, run.lang) if theme else Path(name).stem, path)
        for name, (theme, path, _) in pages.items()
    ]
    for notebook in notebooks:
        data = reads.data_inputs(
            reads.notebook_reads(notebook), config.DataPaths.of(run.data_dir).processed, common["data_version"]
        )
        inputs = buildstate.inputs_hash(notebook, data, run.parameters(), common["library"])
        entry = previous.get(notebook.name)
        theme, html_path, title = pages[notebook.name]
        if (
            not force
            and buildstate.is_up_to_date(entry, inputs, run.reports_dir)
            and entry.get("html") == html_path.relative_to(run.reports_dir).as_posix()
        ):
            skipped.append(buildstate.result_of(notebook.name, entry, run.reports_dir))
            continue
        tasks.append(
            Task(
                notebook=notebook,
                html_path=html_path,
                executed_path=run.folder / EXECUTED_DIR / notebook.name,
                index_href=os.path.relpath(run.reports_dir / INDEX_FILE, html_path.parent).replace(os.sep, "/"),
                parameters=run.parameters(),
                header=common["header"][run.area],
                title=title,
                theme=theme,
                nav=render.nav_of(state or {"runs": {}}, run.key, notebook.name, html_path, siblings, run.reports_dir),
                inputs=inputs,
                timeout=timeout,
                reuse_kernel=reuse_kernel,
                kernel_log=str(run.reports_dir / KERNEL_LOG) if reuse_kernel else "",
            )
        )
    return tasks, skipped


def progress_line(number: int, total: int, result: NotebookResult, area: str = "") -> str:
    prefix = f"[{number}/{total}] {area + '/' if area else ''}{result.name}"
    if result.status == SKIPPED:
        return f"{prefix}: skipped (unchanged)"
    if result.status == FAILED:
        return f"{prefix}: failed {where(result.error_cell)} after {result.seconds:.1f} s: {result.error_message}"
    return f"{prefix}: finished in {result.seconds:.1f} s"


def build(
    baseline: int = config.DEFAULT_BASELINE_YEAR,
    target: int = config.DEFAULT_TARGET_YEAR,
    area: str = config.DEFAULT_AREA,
    lang: str = config.DEFAULT_LANG,
    jobs: int = config.DEFAULT_JOBS,
    force: bool = False,
    data_dir: str | Path | None = None,
    notebooks_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    timeout: int = DEFAULT_TIMEOUT_S,
    areas: str | list[str] | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    only: str | list[str] | None = None,
) -> BuildResult:
    """Ingest, execute and render every notebook, write the index; progress goes to stdout.

    ``areas`` (codes, or ``"all"``: every area with data in the target year and the district)
    builds one set of reports per area, in warm kernels reused from one report to the next;
    ``executor="dask"`` with a scheduler address sends files and reports to a Dask cluster.

    Raises KpiError (one line) for bad parameters, unreadable data or a missing notebooks folder;
    a notebook that fails is a result with status ``failed`` and makes ``exit_code`` 1.
    """
    from kpi import executors

    started = time.perf_counter()
    echo = lambda line: print(line, flush=True)
    reports = Path(reports_dir) if reports_dir is not None else config.REPORTS_DIR
    data = Path(data_dir) if data_dir is not None else config.DATA_DIR
    codes = areasets.area_codes(area, areas)
    checks = functools.partial(
        check_run, baseline, target, lang=lang, data_dir=data, reports_dir=reports, jobs=jobs, timeout=timeout
    )
    inputs = functools.lru_cache(maxsize=None)(lambda: stamps.ingest_inputs(data.resolve()))  # hashed once, if at all
    runs, known = checked_runs(codes, checks, buildstate.load_state(reports.resolve()), force, inputs)
    notebooks = find_notebooks(Path(notebooks_dir) if notebooks_dir is not None else config.NOTEBOOKS_DIR, only)
    pool = executors.executor(executor, scheduler)
    reuse_kernel = areas is not None or len(notebooks) > 1  # one kernel per worker, reset between notebooks
    first = runs[0] if runs else checks(config.DEFAULT_AREA)
    try:
        with run_lock(first.reports_dir, "build"):
            # Load inputs.
            state = buildstate.load_state(first.reports_dir)
            if reuse_kernel and pool.name == "local":
                prestart_if_all_run(first, notebooks, len(runs), jobs, force, inputs)
            version = ingest_if_changed(first.data_dir, force, inputs, pool, echo)
            if not runs or any(known.get(r.key) is None for r in runs):
                check_years(first.data_dir, baseline, target)
            if "all" in codes:
                runs = areasets.every_area(runs, checks, first.data_dir, target, echo)
            common = common_inputs(runs, version, known)
            # Process data.
            done = run_notebooks(notebooks, runs, state, common, force, timeout, reuse_kernel, jobs, pool, echo)
            # Save outputs.
            outcomes, index_path = save_outputs(state, done, runs, common, notebooks[0].parent)
    finally:
        stop_kernels(pool, reuse_kernel)
    return finished(outcomes, index_path, version, started, echo)


def check_years(data_dir: Path, baseline: int, target: int) -> None:
    """The period's years against the years of the ingested data (runs not checked before)."""
    from kpi import params

    params.check_years(stamps.processed_years(data_dir), baseline, target)


def save_outputs(state: dict, done: dict, runs: list[Run], common: dict, folder: Path) -> tuple[list, Path]:
    """The build state, the navigation of every page and the index; (run, results, header) per run."""
    outcomes = [(run, sorted(done[run.key], key=lambda r: r.name), common["header"][run.area]) for run in runs]
    state = buildstate.save_states(state, outcomes, {p.name for p in folder.glob("*.ipynb")})
    render.refresh_navs(state, runs)
    index_path = runs[0].reports_dir / INDEX_FILE
    atomic_write_text(index_path, render.index_html(state, runs[0].lang, runs[0].reports_dir))
    return outcomes, index_path


def prestart_if_all_run(
    first: Run, notebooks: list[Path], runs: int, jobs: int, force: bool, inputs: Callable[[], str]
) -> None:
    """New data, or no report built yet: every report will run, so their warm kernels (as many as
    can run at a time) start while the data is ingested (``kpi build`` on the command line has
    usually started them already)."""
    if force or buildstate.nothing_built(first.reports_dir, first.data_dir, inputs):
        from kpi import engine

        kernels = min(jobs, len(notebooks) * max(runs, 1))
        engine.prestart(str(first.reports_dir / KERNEL_LOG), str(notebooks[0].parent), kernels)


def finished(outcomes: list, index_path: Path, version: str, started: float, echo: Callable) -> BuildResult:
    """The build's result, and its one-line summary."""
    results = [r for _, rs, _ in outcomes for r in rs]
    counts = {s: sum(r.status == s for r in results) for s in (OK, SKIPPED, FAILED)}
    echo(
        f"reports: {counts[OK]} ok, {counts[SKIPPED]} skipped (unchanged), {counts[FAILED]} failed "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return BuildResult(
        notebooks=results,
        index_path=index_path,
        data_version=version,
        seconds=time.perf_counter() - started,
        areas={run.area: rs for run, rs, _ in outcomes},
    )


def checked_runs(
    codes: list[str], checks: Callable[..., Run], previous: dict, force: bool, inputs: Callable[[], str]
) -> tuple[list[Run], dict[str, dict | None]]:
    """One checked run per area code (``all`` is resolved after the ingest).  A run checked before
    on data still current skips the area and year checks (and pandas): ``known`` holds those."""
    runs, known = [], {}
    for code in codes:
        if code == "all":
            continue
        run = checks(code, area_known=True)  # no area yet
        known[run.key] = buildstate.checked_before(previous, run.data_dir, run.key, force, inputs)
        runs.append(run if known[run.key] is not None else checks(code))
    return runs, known


def ingest_if_changed(data_dir: Path, force: bool, inputs: Callable[[], str], pool, echo: Callable) -> str:
    """The data version: the current one when nothing ingest reads changed (no pandas), else a new ingest's."""
    version = None if force else stamps.current_version(data_dir, inputs)
    if version is not None:
        echo(f"ingest: skipped (raw data, reference tables and library unchanged); data version {version}")
        return version
    from kpi import ingest

    mapper = pool.map if pool.name != "local" else None
    return ingest.run_if_changed(data_dir, force=True, mapper=mapper, echo=echo)


def common_inputs(runs: list[Run], version: str, known: dict[str, dict | None]) -> dict:
    """What every report of this build shares: the data version, the library, each area's header.

    An area's name is the previous build's when nothing the checks read changed (``known``):
    a rebuild with nothing to do then never reads the gazetteer (nor imports pandas)."""
    built_at = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    name = lambda r: (known.get(r.key) or {}).get("area_name") or labels.area_name(r.area, r.target, r.lang)
    header = {r.area: {"area_name": name(r), "data_version": version, "built_at": built_at} for r in runs}
    return {"data_version": version, "library": stamps.library_version(), "header": header}


def run_notebooks(
    notebooks: list[Path],
    runs: list[Run],
    state: dict,
    common: dict,
    force: bool,
    timeout: int,
    reuse_kernel: bool,
    jobs: int,
    pool,
    echo: Callable,
) -> dict[str, list[NotebookResult]]:
    """Every run's results: reports up to date skipped, the others executed (``jobs`` at a time)."""
    from kpi import executors

    tasks, done = [], {r.key: [] for r in runs}
    for run in runs:
        previous = state["runs"].get(run.key, {}).get("notebooks", {})
        run_tasks, skipped = plan(notebooks, run, previous, common, force, timeout, reuse_kernel, state)
        tasks += run_tasks
        done[run.key] += skipped
    run_of = {task.html_path: run.key for run in runs for task in tasks if task.html_path.parent == run.folder}
    total, count, multi = len(notebooks) * len(runs), 0, len(runs) > 1
    for run in runs:
        for result in done[run.key]:
            count += 1
            echo(progress_line(count, total, result, run.area if multi else ""))
    quiet = echo if not multi else lambda _: None
    for task, result in zip_tasks(tasks, executors.execute_all(tasks, jobs, quiet, pool)):
        done[run_of[task.html_path]].append(result)
        count += 1
        echo(progress_line(count, total, result, task.parameters["area_code"] if multi else ""))
    return done


def stop_kernels(pool, reuse_kernel: bool) -> None:
    """The warm kernels of this build stopped, here and on the pool's workers; the pool closed."""
    engine = sys.modules.get("kpi.engine")  # imported only if a notebook ran
    if reuse_kernel and engine is not None:
        if pool.name == "dask":
            with contextlib.suppress(Exception):
                pool.run_on_workers(engine.shutdown_warm_kernels)
        engine.shutdown_warm_kernels()
    pool.close()


def zip_tasks(tasks: list[Task], results: Iterator[NotebookResult]) -> Iterator[tuple[Task, NotebookResult]]:
    """Each result with its task (results come in the order they finish), matched by the report's path."""
    by_html = {task.html_path: task for task in tasks}
    by_name_area = {(task.notebook.name, task.parameters["area_code"]): task for task in tasks}
    for result in results:
        task = by_html.get(result.html_path) or by_name_area[(result.name, result.area)]
        yield task, result
