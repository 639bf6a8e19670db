"""``kpi ingest``: every raw file to validated, tidy tables in ``data/processed/``.

# Load inputs: provenance records, checksums, layouts; read every file (all problems at once).
# Process data: clean, derive, validate, pick sources and list conflicts.
# Save outputs: observations (CSV + Parquet), lists, rejects, findings, conflicts, validation
# report (JSON + Markdown) and datapackage.json -- staged, then swapped in whole.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kpi import config, derive, editions, heap, reads, reference, safety, schema, sources, stamps, summary, validate
from kpi.beside import Beside
from kpi.book import reader_failure
from kpi.cells import Cells, Extracted
from kpi.changes import compare
from kpi.clean import TEXT, Cleaned, clean_cells, clean_list, observations_frame
from kpi.columns import arrow_text, sorted_by
from kpi.config import DataPaths
from kpi.errors import KpiError, SourceError, debugging, unexpected_problem
from kpi.executors import read_map
from kpi.extract import extract
from kpi.layouts import Layout
from kpi.layouts import load as layout_of
from kpi.schema import CHANGES, OBSERVATIONS, REJECTS
from kpi.write import run_lock, staged_folder, write_json, write_table


@dataclass
class IngestResult:
    observations: pd.DataFrame
    rejects: pd.DataFrame
    findings: pd.DataFrame
    conflicts: pd.DataFrame
    lists: dict[str, pd.DataFrame]
    sources: pd.DataFrame
    missing_cells: int
    seconds: float
    data_version: str
    out_dir: Path
    summary_lines: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # seconds: read and clean, process, write
    validation_seconds: float = 0.0  # the observations checked against their schema (in derive and check)

    @property
    def exit_code(self) -> int:
        return 1 if len(self.rejects) else 0


def check_checksums(records: list[reference.SourceRecord]) -> list[str]:
    """A problem per raw file that changed since its provenance record was written, or cannot be read."""
    problems = []
    for r in records:
        try:
            digest = reference.sha256(r.path)
        except OSError as exc:
            problems.append(f"{r.path.name}: {safety.unreadable(exc)}")
            continue
        if digest != str(r.meta["sha256"]):
            problems.append(
                f"{r.path.name}: sha256 is {digest} but its provenance record says {r.meta['sha256']}"
                " (a raw file changed: restore it, or record the new file with a new provenance record)"
            )
    return problems


@dataclass
class FileProblems:
    """What stopped one file: its problems, each line naming the file; ``unexpected`` when one is a
    fault of kpi itself (then the run exits 70, after listing every file's problems)."""

    problems: list[str]
    unexpected: bool = False


def same_files(records: list[reference.SourceRecord]) -> list[str]:
    """A problem per raw file that is a copy of another read with the same layout (same sha256 in
    their provenance records): one form filed twice under two names would give every figure,
    finding and conflict twice.  (A copy read with another layout fails that layout's reading.)"""
    first: dict[tuple[str, str], str] = {}
    problems = []
    for r in records:
        digest = str(r.meta["sha256"])
        key = (digest, str(r.meta["layout"]))
        if key in first:
            problems.append(
                f"{r.path.name}: the same file as {first[key]} (sha256 {digest[:12]}…): one form "
                "filed twice under two names; keep one of them and remove the other with its "
                "provenance record"
            )
        else:
            first[key] = r.path.name
    return problems


def extract_one(record: reference.SourceRecord) -> tuple[Extracted, Cleaned] | FileProblems:
    """One file read and its cells cleaned, or its problems (returned, not raised, so a worker can
    send them back).  Cleaning file by file keeps one file's raw cells in memory at a time (in
    each process reading files).

    An unexpected error (a fault of kpi met on this file) is that file's problem: the other
    files are still read and their problems listed with it.
    """
    try:
        part = extract(record)
        cleaned = clean_cells(part.cells)
    except SourceError as exc:
        return FileProblems([f"{exc.path}: {p}" for p in exc.problems], exc.unexpected)
    except KpiError:
        raise  # reference data or configuration: not this file's fault
    except BaseException as exc:
        if not reader_failure(exc) or debugging():
            raise
        return FileProblems([f"{record.path.name}: {unexpected_problem(exc)}"], unexpected=True)
    part.cells = Cells()  # now in the cleaned table
    return part, cleaned


def shared_reference(records: list[reference.SourceRecord]) -> None:
    """Load here the reference tables and layouts that the readers and the later steps both use,
    before the readers are forked: each would otherwise load them again (0.15 s for a gazetteer
    of 700 districts), and this process after them.  A table or layout that fails to load is left
    to the step that needs it, which says why as it always has."""
    names = dict.fromkeys(str(r.meta["layout"]) for r in records)
    for load in (reference.catalogue, reference.gazetteer, reference.units, reference.form_columns):
        with contextlib.suppress(Exception):  # met again, and told, where it is needed
            load()
    for name in names:
        with contextlib.suppress(Exception):
            layout_of(name)


def read_all(
    records: list[reference.SourceRecord],
    mapper: Callable = read_map,
) -> list[tuple[Extracted, Cleaned]]:
    """Extract and clean every file; the problems of all files are raised together.

    ``mapper(fn, items)`` (results in the order of ``items``) decides where the files are read:
    by default here, or in forked processes of this machine when there are many
    (``kpi.executors.read_map``); or on the workers of a Dask executor.
    """
    parts, problems, unexpected = [], [], False
    for outcome in mapper(extract_one, records):
        if isinstance(outcome, FileProblems):
            problems.extend(outcome.problems)
            unexpected |= outcome.unexpected
        else:
            parts.append(outcome)
    if problems:
        raise SourceError(str(records[0].path.parent) if records else "raw", problems, unexpected)
    return parts


def layouts_of(records: list[reference.SourceRecord]) -> dict[str, Layout]:
    """Each source's layout, each layout loaded once (a nation's 1,400 files share one)."""
    loaded = {name: layout_of(name) for name in {str(r.meta["layout"]) for r in records}}
    return {r.source_id: loaded[str(r.meta["layout"])] for r in records}


def sources_table(records: list[reference.SourceRecord]) -> pd.DataFrame:
    """One row per raw source: its priority, title, file, layout and checksum, and how readers cite it."""
    return pd.DataFrame(
        [
            {
                "source_id": r.source_id,
                "priority": r.priority,
                "title": r.meta["title"],
                "file": r.path.name,
                "layout": r.meta["layout"],
                "sha256": r.meta["sha256"],
                # cited for readers by the reports (kpi.cite): who issued it, where in it, where it is online, when read
                "source": str(r.meta.get("source") or ""),
                "section": str(r.meta.get("section") or ""),
                "url": str(r.meta.get("url") or ""),
                "accessed": str(r.meta.get("accessed") or ""),
            }
            for r in records
        ]
    ).sort_values(["priority", "source_id"], ignore_index=True)


def process(records: list[reference.SourceRecord], files: list[tuple[Extracted, Cleaned]]) -> dict:
    """Derive the observations of the cleaned files, sorted; the rejects, lists and sources with
    them (``validated`` checks the observations, ``check`` adds the findings and the conflicts).

    ``files`` is consumed (emptied) once its tables are joined, so a nation-sized ingest does
    not hold every file's table twice.
    """
    layouts = layouts_of(records)
    parts = [part for part, _ in files]
    cleaned = [c for _, c in files]
    rejects = [row for p in parts for row in p.rejects] + [row for c in cleaned for row in c.reject_rows]
    rejects = [pd.DataFrame(rejects, columns=REJECTS.columns)]
    lists, specs = {}, {}
    for part in parts:
        spec = layouts[part.source_id]
        for name, rows in part.lists.items():
            table, list_rejects = clean_list(rows, spec)
            lists[name], specs[name] = table, spec
            rejects.append(pd.DataFrame(list_rejects, columns=REJECTS.columns))
    obs, base_years = observations_frame(cleaned)
    missing = sum(c.missing for c in cleaned)
    del parts, cleaned
    files.clear()
    heap.trim()  # the files' tables, sent back by the readers, freed: their pages go back to the system
    base = derive.baselines(obs, base_years)
    listed = derive.list_aggregates(lists, specs)
    obs = pd.concat([obs, *typed(base, listed)], ignore_index=True)
    obs = pd.concat([obs, *typed(derive.district_totals(obs))], ignore_index=True)  # before ratios: yields use them
    ratios, ratio_findings = derive.ratios(obs)
    obs = sorted_by(pd.concat([obs, *typed(ratios)], ignore_index=True), OBSERVATIONS.key)
    return {
        "observations": arrow_text(obs[OBSERVATIONS.columns], TEXT),  # not yet validated (``validated``)
        "rejects": pd.concat(rejects, ignore_index=True),
        "findings": ratio_findings,  # the checks add theirs (``check``)
        "lists": lists,
        "sources": sources_table(records),
        "missing": missing,
    }


def typed(*derived: pd.DataFrame) -> list[pd.DataFrame]:
    """Derived observations with their text as the files' (Arrow text), so that joining them to the
    files' keeps it so: a column of Python objects among the parts, even an empty one, would make
    the whole joined column Python objects (a nation's: 250 MB more)."""
    return [arrow_text(frame, TEXT) for frame in derived]


def validated(tables: dict) -> None:
    """The observations checked against their schema (``kpi.validate``): the table of its types in
    ``tables``, and how long that took; a failure raises KpiError."""
    checking = time.perf_counter()
    tables["observations"] = validate.validate_observations(tables["observations"])
    tables["validation_seconds"] = time.perf_counter() - checking


def write_beside(
    stack: contextlib.ExitStack, obs: pd.DataFrame, sources: pd.DataFrame, out: Path
) -> tuple[Callable[[], np.ndarray], Callable[[], None]]:
    """``write_observations`` and ``write_changes`` started beside (``kpi.beside``), each in a process
    of its own, while the checks go on here.  Returns what waits for the observations' writer and
    gives the rows' hashes, and what waits for the changes' writer: the reports that need the
    hashes are written while the changes still are (a nation's: 0.6 s of the 1.1 s the ingest
    waited for them).  Both are stopped when ``stack`` closes."""
    rows = stack.enter_context(Beside(lambda: write_observations(obs, out)))
    changes = stack.enter_context(Beside(lambda: write_changes(obs, sources, out)))
    return rows.result, changes.result


def check(tables: dict, records: list[reference.SourceRecord]) -> None:
    """The findings of the checks over the final observations, and the conflicts between sources."""
    obs = tables["observations"]
    complete = {source: layout.complete_breakdown for source, layout in layouts_of(records).items()}
    tables["findings"] = pd.concat(
        [
            tables["findings"],
            validate.breakdown_sums(obs, complete),
            validate.identities(obs),
            sources.echoes(obs),
        ],
        ignore_index=True,
    )
    tables["conflicts"] = sources.conflicts(obs, {r.source_id: r.priority for r in records})


def result_of(tables: dict, rows: np.ndarray, out_dir: Path) -> IngestResult:
    """The ingest's result from its tables and the observations' row hashes (timed by ``run``)."""
    obs = tables["observations"]
    return IngestResult(
        observations=obs,
        rejects=tables["rejects"],
        findings=tables["findings"],
        conflicts=tables["conflicts"],
        lists=tables["lists"],
        sources=tables["sources"],
        missing_cells=tables["missing"],
        seconds=0.0,
        data_version=reads.data_version(obs, rows),
        out_dir=out_dir,
        validation_seconds=tables["validation_seconds"],
    )


def run(data_dir: str | Path | None = None, mapper: Callable | None = None) -> IngestResult:
    """Ingest ``<data_dir>/raw`` into ``<data_dir>/processed``; raises KpiError on file-level errors.

    ``mapper`` spreads the reading of the files (e.g. ``kpi.executors.executor("dask", address).map``).
    """
    started = time.perf_counter()
    heap.return_large_blocks()  # a nation's freed columns go back to the system, not to the heap
    paths = DataPaths.of(data_dir)
    with run_lock(paths.root, "ingest"):
        # Load inputs.
        inputs = stamps.ingest_inputs(paths.root)  # before reading: a file changed meanwhile is read again next time
        records = reference.source_records(paths.raw)
        problems = check_checksums(records) + same_files(records)
        unexpected = False
        try:
            shared_reference(records)
            parts = read_all(records, mapper) if mapper else read_all(records)
        except SourceError as exc:  # a changed file is read all the same: what is wrong with it helps
            problems += [p for p in exc.problems if p not in problems]
            unexpected = exc.unexpected
        if problems:  # named as the user gave the folder: data/raw, d3/raw, /srv/kpi/data/raw
            raise SourceError(str(paths.raw), problems, unexpected)
        read_s = time.perf_counter()
        with staged_folder(paths.processed) as out, contextlib.ExitStack() as beside:
            # Process data; once the observations are final they are written beside (kpi.beside),
            # while they are validated when that cannot change a value (they have the schema's types).
            tables = process(records, parts)
            heap.trim()  # what deriving freed goes back before the writers are forked (they would hold it too)
            early = validate.typed_as_schema(schema.OBSERVATIONS, tables["observations"])
            written = write_beside(beside, tables["observations"], tables["sources"], out) if early else None
            validated(tables)
            obs = tables["observations"]
            if written is None:  # validating changed their types: written as validated
                written = write_beside(beside, obs, tables["sources"], out)
            check(tables, records)
            process_s = time.perf_counter()
            # Save outputs.
            write_tables(tables, out)
            rows_written, changes_written = written
            rows = rows_written()  # the observations' row hashes: the data version and the fingerprints
            result = result_of(tables, rows, paths.processed)
            write_reports(result, out, rows)
            write_json({"inputs": inputs, "data_version": result.data_version}, out / stamps.STAMP_FILE)
            changes_written()  # all written before the folder is swapped in
        editions.snapshot(result.data_version, paths.root)  # the overview lists what changed since the last one
        result.seconds = time.perf_counter() - started
        result.stages = {
            "read and clean": read_s - started,
            "derive and check": process_s - read_s,
            "write": started + result.seconds - process_s,
        }
        result.summary_lines = summary.summary(result)
        return result


def run_if_changed(
    data_dir: str | Path | None = None,
    force: bool = False,
    mapper: Callable | None = None,
    echo: Callable[[str], None] = print,
) -> str:
    """Ingest unless nothing it reads changed since the ingest that wrote ``processed/``; the data version.

    ``kpi build`` calls it (its quick path, ``kpi.stamps.current_version``, needs no pandas);
    a run here writes the same stamp and edition as ``kpi ingest``.
    """
    root = DataPaths.of(data_dir).root
    version = None if force else stamps.current_version(root)
    if version is not None:
        echo(f"ingest: skipped (raw data, reference tables and library unchanged); data version {version}")
        return version
    result = run(root, mapper)
    echo(f"ingest: {result.summary_lines[0]}; rejects: {len(result.rejects)}")
    return result.data_version


def write_observations(obs: pd.DataFrame, out: Path) -> np.ndarray:
    """``observations.csv`` and ``.parquet``; the rows' hashes (``kpi.reads.row_hashes``)."""
    write_table(obs, out / "observations.csv")
    obs.to_parquet(out / "observations.parquet", index=False)
    return reads.row_hashes(obs)


def write_changes(obs: pd.DataFrame, sources: pd.DataFrame, out: Path) -> None:
    """The changes 2012 -> 2022 (``changes.csv``), a source preferred by its priority."""
    priority = dict(zip(sources["source_id"], sources["priority"]))
    ends = {config.DEFAULT_BASELINE_YEAR, config.DEFAULT_TARGET_YEAR}
    changes = (
        compare(obs, config.DEFAULT_BASELINE_YEAR, config.DEFAULT_TARGET_YEAR, priority=priority)
        if ends <= set(obs["year"])
        else pd.DataFrame(columns=CHANGES.columns)
    )
    write_table(changes, out / "changes.csv")


def write_tables(tables: dict, out: Path) -> None:
    """The rejects, findings, conflicts, sources and lists."""
    write_table(tables["rejects"], out / "rejects.csv")
    write_table(tables["findings"], out / "findings.csv")
    write_table(tables["conflicts"], out / "conflicts.csv")
    write_table(tables["sources"], out / "sources.csv")
    for name, table in tables["lists"].items():
        write_table(table, out / "lists" / f"{name}.csv")


def write_reports(result: IngestResult, out: Path, obs_rows: np.ndarray) -> None:
    """The validation report (JSON and Markdown), the data package and the reports' fingerprints."""
    report = summary.validation_report(result)
    write_json(report, out / "validation.json")
    (out / "validation.md").write_text(summary.validation_markdown(report), encoding="utf-8")
    write_json(summary.datapackage(result), out / "datapackage.json")
    r = result
    prints = reads.fingerprints(r.observations, r.findings, r.conflicts, r.lists, r.sources, obs_rows)
    write_json(prints, out / reads.FINGERPRINTS)  # what each report reads: only those whose inputs changed rebuild
