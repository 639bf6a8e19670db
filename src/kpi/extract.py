"""Read raw files as their layouts say, and rename: no cleaning here.

One generic reader per file kind, driven by the layout map of ``data/reference/layouts/``
(named by the file's provenance record):

* ``workbook`` -- a statistical-annex sheet: merged multi-row header, a unit row, one row
  per area, a ``TỔNG SỐ`` total row and notes under the table.  Columns are found by their
  header text, not their letter, so a column moved or inserted is still read; a missing or
  unknown header is a problem naming the closest known header, and a whole header moved to
  other rows is one problem saying so.
* ``records`` -- a CSV with one figure per line (indicator code, area, year, value, unit).
* ``list`` -- a CSV of named things (OCOP products, partner projects, varieties), kept as a
  processed table; counts and sums over it are derived later.

Workbooks are checked first by ``kpi.safety`` (what the file is, zip bombs, XML entities)
and read with python-calamine (a Rust reader, much faster than openpyxl on the same files);
openpyxl is used only to write workbooks.  What calamine does not report -- hidden rows and
columns, formulas without a cached value, error values, merged cells in .ods -- comes from
the sheet XML (``kpi.marks``), and such cells are rejected with the reason, never
read as empty or as visible figures.  CSV files are read by ``kpi.csvread``.

Each reader returns ``Extracted``: value cells with their exact place (``source_ref``),
list rows, rows it could not place (rejects) and structural problems (which stop the file).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from kpi import layouts, safety
from kpi.book import emptiness, far_values, open_checked, reader_failure, sheet_rows, year_problems
from kpi.cells import Extracted, SheetBlock, cell_text, cell_texts, closest, listed
from kpi.config import MAX_YEAR, MIN_YEAR
from kpi.csvread import read_list, read_records
from kpi.errors import SourceError, cell_ref, column_index, column_letter
from kpi.headers import _rows_text, located_columns
from kpi.layouts import Layout, SheetLayout
from kpi.marks import SheetMarks, range_ref
from kpi.reference import SourceRecord
from kpi.safety import CheckedWorkbook
from kpi.text import MISSING_TOKENS, fold

NOTE_PREFIXES = ("ghi chu", "nguon", "note", "source", "*")


# --- workbooks ---------------------------------------------------------------------------


def _is_note(text: str) -> bool:
    return fold(text).startswith(NOTE_PREFIXES)


def _year_cell(rows: list[list], ref: str, sheet: str, problems: list[str]) -> int | None:
    """The reference year typed in one cell of the sheet (e.g. C2 of the yearly form)."""
    letters = "".join(ch for ch in ref if ch.isalpha())
    r0, c0 = int(ref[len(letters) :]) - 1, column_index(letters)
    value = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not MIN_YEAR <= value <= MAX_YEAR:
        problems.append(f"sheet {sheet!r}: cell {ref} should hold the year of the figures (got {value!r})")
        return None
    return value


@dataclass
class _Sheet:
    """One sheet being read: its cells (calamine), what its XML adds (marks) and the layout's columns."""

    file: str
    name: str
    rows: list[list]
    merged: list
    marks: SheetMarks
    columns: dict[int, dict] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)

    def ref(self, r0: int, c0: int) -> str:
        return f"{self.file}!{self.name}!{cell_ref(r0, c0)}"

    def text(self, r0: int, c0: int) -> str:
        row = self.rows[r0] if r0 < len(self.rows) else []
        return cell_text(row[c0]) if c0 < len(row) else ""


def _find_sheet(names: list[str], wanted: str, problems: list[str]) -> str | None:
    """The workbook's sheet the layout names; a name that differs only in case, spacing or
    diacritics (``02_CHE``) is the same sheet, anything else is a problem."""
    if wanted in names:
        return wanted
    same = [n for n in names if fold(n) == fold(wanted)]
    if len(same) == 1:
        return same[0]
    problems.append(f"sheet {wanted!r} not found{closest(wanted, names)} (sheets: {listed(names)})")
    return None


def _load_sheet(wb, name: str, file: str, checked: CheckedWorkbook, problems: list[str]) -> _Sheet | None:
    """A sheet's values (calamine) with its marks (XML); a sheet calamine cannot parse is a problem,
    and the other sheets are still read so the file's problems come together."""
    try:
        sheet = wb.get_sheet_by_name(name)
        rows = sheet_rows(sheet)
        merged = getattr(sheet, "merged_cell_ranges", None) or []
    except BaseException as exc:
        if not reader_failure(exc):
            raise
        problems.append(f"sheet {name!r} cannot be read: {exc}; {safety.SAVE_AS_XLSX}")
        return None
    marks = checked.marks(name)
    return _Sheet(file, name, rows, list(merged) or list(marks.merges), marks)


def read_workbook(record: SourceRecord, spec_all: Layout) -> Extracted:
    """Read every sheet named in the layout; all problems of the file are collected."""
    out = Extracted(record.source_id)
    wb, checked = open_checked(record.path)
    years = {}
    for spec in spec_all.sheets:
        name = _find_sheet(wb.sheet_names, spec.sheet, out.problems)
        if name is None or not far_values(out, record.path.name, name, checked.extents.get(name), out.problems):
            continue
        sheet = _load_sheet(wb, name, record.path.name, checked, out.problems)
        year = _read_sheet(out, record, spec_all, spec, sheet) if sheet is not None else None
        if year is not None:
            years[name] = year
    out.problems += year_problems(record, years)
    if out.problems:
        why = emptiness(wb, checked)
        out.problems = [why] if why else out.problems
    return out


@dataclass
class _Body:
    """What reading the rows of one table needs, worked out once from its header."""

    area_col: int
    status_col: int | None
    value_cols: dict[int, dict]
    year: int | None
    spread: dict[tuple[int, int], tuple[int, int]]  # cell of a harmless merge → its first cell
    flagged: dict[tuple[int, int], str]  # value cell in a merge that makes it unusable → range
    header_cells: set[str]  # folded header texts, to see a second table start
    columns: dict[int, tuple] = field(default_factory=dict)  # value column → what its cells share
    extra: list[int] = field(default_factory=list)  # columns without a known header, not ignored
    plain: bool = True  # no marks and no unusable merge: no cell needs ``_unusable``


def _read_sheet(out: Extracted, record: SourceRecord, spec_all: Layout, spec: SheetLayout, sheet: _Sheet) -> int | None:
    """Header, then the body row by row until the notes under the table; returns the sheet's year
    (its year cell, for forms that have one)."""
    if not any(cell_text(v) for row in sheet.rows for v in row) and not sheet.marks.formulas:
        out.problems.append(f"sheet {sheet.name!r} is empty: expected a table with its {_rows_text(spec.header_rows)}")
        return None
    if not located_columns(sheet, spec, out.problems):
        return None
    body = _body_of(sheet, record, spec_all, spec, out.problems)
    _read_body(out, spec_all, spec, sheet, body)
    return body.year


def _row_texts(sheet: _Sheet, body: _Body, r0: int, spread_rows: set[int]) -> list[str]:
    """The texts of one row, a harmless merge's text in every cell it covers."""
    if r0 in spread_rows:
        return [sheet.text(*body.spread.get((r0, c), (r0, c))) for c in range(len(sheet.rows[r0]))]
    return cell_texts(sheet.rows[r0])


def _read_body(out: Extracted, spec_all: Layout, spec: SheetLayout, sheet: _Sheet, body: _Body) -> None:
    """The rows under the header, until the notes under the table (a second table is a problem)."""
    marked_rows = {r for r, _ in sheet.marks.formulas} | {r for r, _ in sheet.marks.errors}
    spread_rows = {r for r, _ in body.spread}
    ended_at = None
    found: list[tuple] = []
    block = SheetBlock(list(body.columns.items())) if body.plain else None  # its usable rows, as they are
    for r0 in range(spec.first_body_row, len(sheet.rows)):
        texts = _row_texts(sheet, body, r0, spread_rows)
        if not any(texts) and r0 not in marked_rows:
            continue
        first = next((t for t in texts if t), "")
        if ended_at is not None or _is_note(first):
            if ended_at is None:
                ended_at = r0
            elif not _is_note(first):
                c = next(i for i, t in enumerate(texts) if t)
                out.problems.append(
                    f"sheet {sheet.name!r}: content below the table at {cell_ref(r0, c)} "
                    f"({first!r}) is not read; move it to its own sheet"
                )
            continue
        repeated = (  # the folded texts looked up all at once first: most rows repeat no header
            None
            if body.header_cells.isdisjoint(map(fold, filter(None, texts)))
            else next(c for c, t in enumerate(texts) if t and fold(t) in body.header_cells)
        )
        if repeated is not None:
            out.problems.append(
                f"sheet {sheet.name!r}: a second table starts at row {r0 + 1} "
                f"({cell_ref(r0, repeated)} repeats the header {texts[repeated]!r}); only one table "
                "per sheet is read: move it to its own sheet"
            )
            break
        _read_row(out, spec_all, sheet, body, r0, texts, found, block)
    out.cells.extend(found)
    if block is not None and block.rows:
        out.cells.add_block(block)


def _body_of(sheet: _Sheet, record: SourceRecord, spec_all: Layout, spec: SheetLayout, problems: list[str]) -> _Body:
    area_col = next(c for c, col in sheet.columns.items() if col is spec.area)
    status_col = next((c for c, col in sheet.columns.items() if spec.status is not None and col is spec.status), None)
    value_cols = {c: col for c, col in sheet.columns.items() if c not in (area_col, status_col)}
    year = _year_cell(sheet.rows, spec_all.year_cell, sheet.name, problems) if spec_all.year_cell else None
    unit_row = spec.unit_row
    units = sheet.rows[unit_row - 1] if unit_row and unit_row <= len(sheet.rows) else []
    first_body = spec.first_body_row
    spread, flagged = _body_merges(sheet, first_body, set(value_cols), (area_col, status_col))
    header_cells = {fold(sheet.text(r1 - 1, c)) for r1 in spec.header_rows for c in range(len(sheet.texts))}
    body = _Body(area_col, status_col, value_cols, year, spread, flagged, header_cells - {""})
    prefix = f"{sheet.file}!{sheet.name}!"
    for c, col in value_cols.items():
        unit = cell_text(units[c]) if c < len(units) else ""
        col_year = col.year if col.year is not None else spec.year if spec.year is not None else year
        # (source_id, source_ref prefix, indicator, year_raw, unit_raw, base_year, note) of its cells
        ref = prefix + column_letter(c)
        body.columns[c] = (record.source_id, ref, col.indicator, col_year, unit or col.unit, col.base_year, col.note)
    ignored = _folded(spec.ignore)
    body.extra = [c for c, t in enumerate(sheet.texts) if c not in sheet.columns and fold(t) not in ignored]
    marks = sheet.marks
    body.plain = not (flagged or marks.hidden_rows or marks.hidden_cols or marks.formulas or marks.errors)
    return body


def _read_row(
    out: Extracted,
    spec_all: Layout,
    sheet: _Sheet,
    body: _Body,
    r0: int,
    texts: list[str],
    found: list[tuple],
    block: SheetBlock | None = None,
) -> None:
    """One row of the table: a cell per value column (or a reject saying why not), in ``found`` as
    a tuple of the ``CELLS`` columns; in ``block`` as the row itself, where one is given and the
    row has an area and a known status (its cells then all go on to cleaning)."""
    area_text = texts[body.area_col] if body.area_col < len(texts) else ""
    total_labels = _folded(spec_all.total_labels)
    is_total = fold(area_text) in total_labels or fold(area_text.split(" - ")[0]) in total_labels
    status_col = body.status_col
    status_text = texts[status_col] if status_col is not None and status_col < len(texts) else ""
    status = spec_all.status_choices.get(status_text, "") if status_text else ""
    row = sheet.rows[r0]
    if is_total:
        out.total_rows.setdefault(sheet.name, r0)
    area = spec_all.total_area if is_total else area_text
    row_no, width, marked = str(r0 + 1), len(row), sheet.marks.marked
    if block is not None and area_text and (status or not status_text):
        block.rows.append((row, row_no, area, status))
        columns = {}  # its cells are the block's
    else:
        columns = body.columns
    for c, (source_id, column_ref, indicator, year, unit, base, note) in columns.items():
        text = texts[c] if c < width else ""  # a value cell is never in a spread merge: its own text
        if text == "" and (body.plain or not marked(r0, c)):
            continue
        raw, ref = row[c] if c < width else None, column_ref + row_no
        trouble = None if body.plain else _unusable(sheet, r0, c, raw, body.flagged, text)
        if trouble:
            out.reject(ref, *trouble)
        elif not area_text:
            out.reject(ref, "area", raw, f"value without an area name in {cell_ref(r0, body.area_col)}")
        elif status_text and not status:
            where = f"status {status_text!r} in {cell_ref(r0, status_col)}"
            out.reject(ref, "status", status_text, f"{where} is not one of: {', '.join(spec_all.status_choices)}")
        else:
            found.append((source_id, ref, indicator, area, year, raw, unit, base, note, status))
    for c in body.extra:
        if c < len(texts) and texts[c] and (r0, c) not in body.spread:
            out.reject(sheet.ref(r0, c), "column", row[c], "value in a column without a known header")


@functools.lru_cache(maxsize=256)
def _folded(labels: tuple[str, ...]) -> frozenset[str]:
    """The folded forms of a layout's labels (total rows, ignored columns), worked out once."""
    return frozenset(fold(t) for t in labels)


def _body_merges(
    sheet: _Sheet, first_body: int, value_cols: set[int], label_cols: tuple
) -> tuple[dict[tuple[int, int], tuple[int, int]], dict[tuple[int, int], str]]:
    """Merged ranges in the table body.

    One that stays in one row and covers no value column (``TỔNG SỐ`` merged over the STT and
    name columns) is read as its first cell's text in every cell it covers.  Any other makes
    the values it touches unusable -- one value would stand for several areas or columns --
    and so does a name merged over several rows, for every value of those rows.
    Returns (covered cell → first cell, unusable cell → range in A1 notation).
    """
    spread, flagged = {}, {}
    for merge in sheet.merged:
        (top, left), (bottom, right) = merge
        if bottom < first_body:
            continue
        covered = range(left, right + 1)
        touches = [c for c in covered if c in value_cols]
        if top == bottom and not touches:
            spread.update({(top, c): (top, left) for c in covered if c != left})
            continue
        cols = value_cols if any(c in covered for c in label_cols if c is not None) else touches
        for r0 in range(max(top, first_body), bottom + 1):
            flagged.update({(r0, c): range_ref(merge) for c in cols})
    return spread, flagged


def _unusable(sheet: _Sheet, r0: int, c0: int, raw: object, flagged: dict, text: str) -> tuple[str, object, str] | None:
    """Why a value cell cannot be used as calamine read it: (field, raw value, reason), or None.

    Hidden rows and columns are refused rather than read: a figure nobody sees on screen is
    often an old or draft one kept out of sight, and using it would add an invisible number.
    A hidden ``-`` (no figure) is let through, to be counted as missing like any other.
    """
    marks = sheet.marks
    if text in MISSING_TOKENS and not marks.marked(r0, c0):
        return None
    if marks.row_hidden(r0):
        return (
            "row",
            raw,
            (
                f"row {r0 + 1} is hidden: a figure nobody sees on screen is not used; "
                "unhide the row (or delete it) and run again"
            ),
        )
    if marks.col_hidden(c0):
        return (
            "column",
            raw,
            (
                f"column {column_letter(c0)} is hidden: a figure nobody sees on screen is not used; "
                "unhide the column (or delete it) and run again"
            ),
        )
    if (r0, c0) in flagged:
        return (
            "merged",
            raw,
            (
                f"in merged cells {flagged[(r0, c0)]} in the table body: one value cannot stand for "
                "several areas or columns; unmerge the cells and type the value in each"
            ),
        )
    if (r0, c0) in marks.formulas:
        return (
            "formula",
            marks.formulas[(r0, c0)],
            ("formula without a cached value: open and save the file in Excel/LibreOffice"),
        )
    if (r0, c0) in marks.errors:
        return (
            "value",
            marks.errors[(r0, c0)],
            ("Excel error value in the cell: correct the formula or type the figure"),
        )
    return None


READERS = {"workbook": read_workbook, "records": read_records, "list": read_list}


def extract(record: SourceRecord) -> Extracted:
    """Read one raw file with the layout its provenance record names."""
    spec = layouts.load(record.meta["layout"])
    reader = READERS.get(spec.kind)
    if reader is None:
        raise SourceError(record.path.name, [f"layout {record.meta['layout']!r} has unknown kind {spec.kind!r}"])
    out = reader(record, spec)
    if out.problems:
        raise SourceError(record.path.name, out.problems)
    return out
