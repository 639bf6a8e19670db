"""``kpi check <file>…``: every problem of a workbook or CSV before it is added to ``data/raw/``.

Runs the same reader and cleaning as ``kpi ingest`` on each file without writing anything:
header drift against the known layouts (missing, unknown or renamed columns, with the
closest known header), unknown area names (with the closest known name), values that are
not numbers, units that disagree -- all at once, each with its sheet and A1 cell or line.
A file that matches no layout says so in one line, naming the closest layout and why.
A file can be ingested when its report is empty (exit code 0); two files that are one and
the same (same sha256) are a problem naming both.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from kpi import derive, layouts, reference
from kpi.book import open_workbook, reader_failure
from kpi.cells import listed
from kpi.clean import clean_cells, clean_list
from kpi.csvread import MAX_HEADER_SHIFT, TAB_SUFFIXES, delimiter_of, header_of, numbered_rows, read_csv_text
from kpi.derive import plain_number
from kpi.errors import UNEXPECTED_EXIT, KpiError, SourceError, debugging, unexpected_problem
from kpi.extract import READERS
from kpi.layouts import Layout
from kpi.reference import SourceRecord
from kpi.schema import REJECTS
from kpi.text import fold, nfc

CSV_SUFFIXES = (".csv", ".txt") + TAB_SUFFIXES
CONSOLE_LINES = 20  # problem lines shown per file; `kpi check --all` shows every one
MIN_SHARE_OF_COLUMNS = 0.5  # a CSV is read with a layout when it has at least half its required columns


@dataclass
class CheckReport:
    path: Path
    layout: str
    problems: list[str] = field(default_factory=list)
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECTS.columns))
    values: int = 0
    list_rows: int = 0  # rows of a list (OCOP products, varieties): things, not figures
    unexpected: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.rejects.empty

    def lines(self, limit: int | None = None) -> list[str]:
        """The report; at most ``limit`` problem lines (None: all), then how many were left out."""
        head = f"{self.path.name} (layout {self.layout}): "
        warned = f"; {len(self.warnings)} warning(s)" if self.warnings else ""
        body = [f"  - {p}" for p in self.problems] + [f"  - {line}" for line in grouped(self.rejects)]
        body += [f"  - warning: {w}" for w in self.warnings]
        shown = body if limit is None else body[:limit]
        more = (
            [f"  … and {len(body) - len(shown):,} more lines (kpi check --all lists every one)"]
            if len(shown) < len(body)
            else []
        )
        if self.ok:
            what = f"{self.values} values" + (f" and {self.list_rows} list rows" if self.list_rows else "")
            if self.list_rows and not self.values:
                what = f"{self.list_rows} list rows"
            return [head + f"OK, {what} can be ingested{warned}"] + shown + more
        return [head + f"{len(self.problems) + len(self.rejects)} problem(s){warned}"] + shown + more


def grouped(rejects: pd.DataFrame) -> list[str]:
    """One line per reason and sheet: the cells that share it as a range (E6:E19) or a list.

    >>> grouped(pd.DataFrame({"source_ref": ["f.xlsx!S!E6", "f.xlsx!S!E7", "f.csv:3"], "raw_value": ["1", "2", "x"],
    ...     "reason": ["no header", "no header", "not a number"]}))
    ["f.xlsx!S!E6:E7 (2 values, first '1'): no header", "f.csv:3: 'x': not a number"]
    """
    lines, order = [], {}
    for r in rejects.itertuples():
        place, _, cell = r.source_ref.rpartition("!")
        key = (place, r.reason) if place else (r.source_ref, r.reason)
        order.setdefault(key, []).append((cell if place else "", r.raw_value))
    for (place, reason), cells in order.items():
        if len(cells) == 1 or not cells[0][0]:
            lines += [f"{place}{'!' + c if c else ''}: {v!r}: {reason}" for c, v in cells]
            continue
        names = [c for c, _ in cells]
        cols = {re.sub(r"\d", "", c) for c in names}
        rows = {re.sub(r"\D", "", c) for c in names}
        span = (
            f"{names[0]}:{names[-1]}"
            if len(cols) == 1 or len(rows) == 1
            else ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
        )
        lines.append(f"{place}!{span} ({len(cells)} values, first {cells[0][1]!r}): {reason}")
    return lines


def layouts_of_kind(kinds: tuple[str, ...]) -> list[Layout]:
    return [spec for spec in layouts.every() if spec.kind in kinds]


def _required_columns(spec: Layout) -> list[str]:
    optional = set(spec.optional)
    return [column for role, column in spec.columns.items() if role not in optional]


def _guess_csv(path: Path) -> tuple[str | None, str]:
    """The CSV layout with the largest share of its required columns in the header line."""
    text = read_csv_text(path)  # the same decoding as ingest: BOM, UTF-16, Windows-1258, any line end
    numbered = numbered_rows(text, delimiter_of(path, text))[0]
    line, header, below = header_of(numbered)
    specs = layouts_of_kind(("records", "list"))
    for row in [header] + [[nfc(v) for v in r] for _, r in below[:MAX_HEADER_SHIFT]]:  # a title row above it
        columns = set(row)
        share = lambda s, c=columns: len(c & set(_required_columns(s))) / max(len(_required_columns(s)), 1)
        best = max(specs, key=share)
        if share(best) >= MIN_SHARE_OF_COLUMNS:
            return best.id, ""  # the reader then says where the header is
    columns = set(header)
    share = lambda s: len(columns & set(_required_columns(s))) / max(len(_required_columns(s)), 1)
    best = max(specs, key=share)
    have = [c for c in _required_columns(best) if c in columns]
    lacks = [c for c in _required_columns(best) if c not in columns]
    return None, (
        f"matches no layout: its header (line {line or 1}: {listed(header)}) has too few columns of any "
        f"layout; closest: {best.id}, which has {len(have)} of its {len(have) + len(lacks)} columns "
        f"(lacks {listed(lacks)}); give --layout to check it against one"
    )


def _guess_workbook(path: Path) -> tuple[str | None, str]:
    """The workbook layout whose sheet names the file shares most (names compared like headers)."""
    names = open_workbook(path).sheet_names
    folded = {fold(n) for n in names}
    specs = layouts_of_kind(("workbook",))
    shared = lambda s: len(folded & {fold(sh.sheet) for sh in s.sheets})
    best = max(specs, key=shared)
    if shared(best) > 0:
        return best.id, ""
    likeness = lambda s: max(
        (difflib.SequenceMatcher(None, fold(n), fold(sh.sheet)).ratio() for n in names for sh in s.sheets),
        default=0.0,
    )
    near = max(specs, key=likeness)
    return None, (
        f"matches no layout: none of its sheets ({listed(names)}) is a sheet of a known layout; closest: "
        f"{near.id} (sheets {listed([sh.sheet for sh in near.sheets])}); give --layout to "
        "check it against one"
    )


def guess_layout(path: Path) -> tuple[str | None, str]:
    """(layout id, '') for the layout the file fits, or (None, one line saying why none fits)."""
    if path.suffix.lower() in CSV_SUFFIXES:
        return _guess_csv(path)
    return _guess_workbook(path)


def _record_of(path: Path, layout_id: str) -> SourceRecord:
    """The file's provenance record when one lies beside it (its id and title name the year), else a stand-in."""
    meta = {"source_id": path.stem, "layout": layout_id, "no_record": True}
    meta_file = reference.meta_path_of(path)
    if meta_file.is_file():
        meta.pop("no_record")
        try:
            found = reference.read_yaml(meta_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            found = None
        if isinstance(found, dict):
            meta.update({k: str(found[k]) for k in ("source_id", "title") if k in found})
    return SourceRecord(path, meta)


def _read(report: CheckReport, path: Path, layout_id: str | None) -> None:
    if layout_id is None:
        layout_id, why = guess_layout(path)
        if layout_id is None:
            report.problems = [why]
            return
    report.layout = layout_id
    spec = layouts.load(layout_id)
    try:
        out = READERS[spec.kind](_record_of(path, layout_id), spec)
    except SourceError as exc:
        report.problems = exc.problems
        return
    report.problems = list(out.problems)
    cleaned = clean_cells(out.cells)
    observations = cleaned.observations
    rejects = [pd.DataFrame(out.rejects, columns=REJECTS.columns), cleaned.rejects]
    for rows in out.lists.values():  # a list is cleaned as ingest cleans it: areas, numbers, years, repeats
        table, list_rejects = clean_list(rows, spec)
        rejects.append(pd.DataFrame(list_rejects, columns=REJECTS.columns))
        report.list_rows += len(table)
    report.rejects = pd.concat(rejects, ignore_index=True)
    report.values = len(observations)
    report.warnings = total_warnings(observations, out.total_rows)


def total_warnings(obs: pd.DataFrame, total_rows: dict[str, int]) -> list[str]:
    """A district TOTAL row left empty (ingest derives it when every unit has a figure) or differing
    from the sum of its units: a warning naming the cell, the printed total and the sum."""
    sums = derive.unit_sums(obs)
    printed = obs.rename(columns={"area_code": "district", "value": "printed", "source_ref": "printed_ref"})
    merged = sums.merge(
        printed[["indicator", "year", "source_id", "district", "printed", "printed_ref"]],
        how="left",
        on=["indicator", "year", "source_id", "district"],
    )
    lines = []
    for r in merged.itertuples():
        what = f"district total of {r.indicator}, {r.year}"
        total = f"{plain_number(r.value)} {r.unit}"
        if pd.isna(r.printed) and r.units == r.expected:
            lines.append(
                f"{_total_cell(r.ref, total_rows)} ({what}) is empty: ingest derives it as the sum of its "
                f"{r.units} units, {total} ({r.ref})"
            )
        elif pd.isna(r.printed):
            lines.append(
                f"{_total_cell(r.ref, total_rows)} ({what}) is empty and {r.expected - r.units} of its "
                f"{r.expected} units have no figure: the district reports will have no {r.year} figure"
            )
        elif r.units == r.expected and not derive.agrees_with_printed(r.printed, r.value):
            lines.append(
                f"{r.printed_ref} ({what}) is {plain_number(r.printed)} {r.unit} but its {r.units} units "
                f"add up to {total} ({r.ref})"
            )
    return lines


def _total_cell(span: str, total_rows: dict[str, int]) -> str:
    """The TOTAL row's cell in the column of the units' range (``f.xlsx!S!D7:D19`` → ``f.xlsx!S!D6``)."""
    place, _, cells = span.rpartition("!")
    sheet = place.rpartition("!")[2]
    column = re.match(r"[A-Z]+", cells)
    if not place or sheet not in total_rows or not column:
        return "the TOTAL row"
    return f"{place}!{column.group(0)}{total_rows[sheet] + 1}"


def check_file(path: str | Path, layout_id: str | None = None) -> CheckReport:
    """Check one file against its layout (guessed when not given); nothing is written.

    An unexpected error (a fault of kpi) is reported against the file, not raised."""
    path = Path(path)
    report = CheckReport(path, layout_id or "none")
    if not path.is_file():  # said against this path; the other files are still checked
        report.problems = ["is a folder, not a file" if path.is_dir() else f"no such file ({path})"]
        return report
    try:
        _read(report, path, layout_id)
    except SourceError as exc:
        report.problems = exc.problems
    except KpiError:
        raise
    except BaseException as exc:
        if not reader_failure(exc) or debugging():
            raise
        report.problems, report.unexpected = [unexpected_problem(exc)], True
    return report


def same_files(paths: list[Path]) -> list[str]:
    """A line per file that is a copy of an earlier one (same sha256): one form under two names."""
    first: dict[str, Path] = {}
    lines = []
    for path in paths:
        digest = reference.sha256(path)
        if digest in first:
            lines.append(
                f"{path.name}: the same file as {first[digest].name} (sha256 {digest[:12]}…): one form "
                "under two names; keep one of them"
            )
        first.setdefault(digest, path)
    return lines


def check_files(
    paths: list[str | Path],
    layout_id: str | None = None,
    limit: int | None = CONSOLE_LINES,
) -> tuple[list[str], int]:
    """(lines to print, exit code) for ``kpi check``: 0 when every file can be ingested, 1 when one
    cannot, 70 when kpi itself failed on one (the others are still checked)."""
    paths = [Path(p) for p in paths]
    reports = [check_file(p, layout_id) for p in paths]
    copies = same_files([p for p in paths if p.is_file()])
    lines = [line for r in reports for line in r.lines(limit)] + copies
    if any(r.unexpected for r in reports):
        return lines, UNEXPECTED_EXIT
    return lines, 0 if all(r.ok for r in reports) and not copies else 1
