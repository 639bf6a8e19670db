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
the sheet XML (``safety.SheetMarks``), and such cells are rejected with the reason, never
read as empty or as visible figures.  CSV files may be UTF-8 (with or without BOM), UTF-16
or UTF-32 with a BOM, or Vietnamese Windows-1258; the delimiter (comma, semicolon, tab) is
taken from the header line.

Each reader returns ``Extracted``: value cells with their exact place (``source_ref``),
list rows, rows it could not place (rejects) and structural problems (which stop the file).
"""
from __future__ import annotations

import csv
import difflib
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kpi import safety
from kpi.errors import SourceError, cell_ref, column_index, column_letter
from kpi.reference import SourceRecord, layout as load_layout
from kpi.safety import CheckedWorkbook, SheetMarks
from kpi.text import MISSING_TOKENS, fold, nfc

CELL_COLUMNS = ["source_id", "source_ref", "indicator", "area_raw", "year_raw", "raw_value",
                "unit_raw", "base_year", "note", "status"]
REJECT_COLUMNS = ["source_id", "source_ref", "field", "raw_value", "reason"]
NOTE_PREFIXES = ("ghi chu", "nguon", "note", "source", "*")
MAX_HEADER_SHIFT = 10          # rows a whole header may have moved and still be recognised, to say so
CSV_DELIMITERS = (",", ";", "\t")
BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
# Vietnamese diacritics: five tones (grave, acute, tilde, hook, dot below), circumflex, breve, horn.
VIETNAMESE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b")
TEXT_SIGNS = frozenset("–—‘’“”…•°·×±²³§©®€№\u00a0")  # typographic signs in Office's Vietnamese text


@dataclass
class Extracted:
    source_id: str
    cells: list[dict] = field(default_factory=list)
    lists: dict[str, list[dict]] = field(default_factory=dict)
    rejects: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def reject(self, ref: str, field_: str, raw: object, reason: str) -> None:
        self.rejects.append({"source_id": self.source_id, "source_ref": ref, "field": field_,
                             "raw_value": raw_text(raw), "reason": reason})


def raw_text(raw: object) -> str:
    """A raw cell value as the user typed it (Excel's 12.0 shown as 12).

    >>> raw_text(12.0), raw_text(None), raw_text("1.947")
    ('12', '', '1.947')
    """
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value))


def _closest(name: str, candidates: list[str]) -> str:
    folded = {fold(c): c for c in candidates if c}
    close = difflib.get_close_matches(fold(name), list(folded), n=1, cutoff=0.5)
    return f"; closest: {folded[close[0]]!r}" if close else ""


# --- workbooks ---------------------------------------------------------------------------

def reader_failure(exc: BaseException) -> bool:
    """True for what calamine raises on a bad file: its own errors, and pyo3's PanicException
    (a BaseException, not an Exception) when its Rust code panics."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def open_checked(path: Path) -> tuple[object, CheckedWorkbook]:
    """Check a workbook (``kpi.safety``), then open the checked bytes with calamine."""
    from python_calamine import CalamineWorkbook

    checked = safety.check_workbook(path)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(checked.data)), checked
    except BaseException as exc:
        if not reader_failure(exc):
            raise
        raise SourceError(path.name, [f"cannot be read as a workbook: {exc}; {safety.SAVE_AS_XLSX}"]) from None


def open_workbook(path: Path):
    """Open a workbook with calamine after the safety checks; a bad file is a SourceError naming it."""
    return open_checked(path)[0]


def sheet_rows(sheet) -> list[list]:
    """All rows of a sheet from A1 (empty leading rows and columns kept, so A1 refs hold)."""
    return sheet.to_python(skip_empty_area=False)


def header_texts(rows: list[list], header_rows: list[int], merged: list) -> list[str]:
    """Join the header rows of each column (1-based row numbers), merged cells spread over their span.

    >>> header_texts([["A", "B", ""], ["", "x", "y"]], [1, 2], [((0, 1), (0, 2))])
    ['A', 'B / x', 'B / y']
    """
    width = max((len(r) for r in rows), default=0)
    grid = {}
    for r1 in header_rows:
        r0 = r1 - 1
        row = rows[r0] if 0 <= r0 < len(rows) else []
        for c in range(width):
            grid[(r0, c)] = _text(row[c]) if c < len(row) else ""
    for (top, left), (bottom, right) in merged:
        value = grid.get((top, left), "")
        for r0 in range(top, bottom + 1):
            for c in range(left, right + 1):
                if (r0, c) in grid and r0 == top:
                    grid[(r0, c)] = value
    texts = []
    for c in range(width):
        parts = []
        for r1 in header_rows:
            part = " ".join(grid[(r1 - 1, c)].split())
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        texts.append(" / ".join(parts))
    return texts


def _rows_text(rows: list[int]) -> str:
    """``header row 4`` or ``header rows 4, 5`` (1-based), as the problems say it."""
    return ("header row " if len(rows) == 1 else "header rows ") + ", ".join(str(r) for r in rows)


def header_anchors(rows: list[list], header_rows: list[int], merged: list) -> list[int]:
    """The first header row (1-based) where each column shows text, its own or a merged cell's:
    where a person looks for the header an unknown-column problem names.

    >>> header_anchors([["A", "B", ""], ["", "", "y"]], [1, 2], [((0, 1), (0, 2))])
    [1, 1, 1]
    >>> header_anchors([["A", "", ""], ["", "", "y"]], [1, 2], [])
    [1, 1, 2]
    """
    per_row = {r1: header_texts(rows, [r1], merged) for r1 in header_rows}
    width = max((len(r) for r in rows), default=0)
    return [next((r1 for r1 in header_rows if per_row[r1][c]), header_rows[0]) for c in range(width)]


def _match_columns(texts: list[str], spec: dict, sheet: str, problems: list[str],
                   anchors: list[int] | None = None) -> dict[int, dict]:
    """Map each column of the layout to its index by header text; report missing/unknown columns."""
    by_fold = {}
    for c, text in enumerate(texts):
        if text:
            by_fold.setdefault(fold(text), c)
    found: dict[int, dict] = {}
    wanted = [spec["area"]] + ([spec["status"]] if spec.get("status") else []) + spec["columns"]
    for col in wanted:
        c = by_fold.get(fold(col["header"]))
        if c is None:
            problems.append(f"sheet {sheet!r}: column {col['header']!r} not found in "
                            f"{_rows_text(spec['header_rows'])}{_closest(col['header'], texts)}")
            continue
        found[c] = col
    ignored = {fold(h) for h in spec.get("ignore", [])}
    for c, text in enumerate(texts):
        if text and c not in found and fold(text) not in ignored:
            known = [col["header"] for col in wanted]
            row1 = anchors[c] if anchors else spec["header_rows"][0]
            problems.append(f"sheet {sheet!r}: unknown column {text!r} at {column_letter(c)}{row1}"
                            f"{_closest(text, known)}")
    return found


def _is_note(text: str) -> bool:
    return fold(text).startswith(NOTE_PREFIXES)


def _year_cell(rows: list[list], ref: str, sheet: str, problems: list[str]) -> int | None:
    """The reference year typed in one cell of the sheet (e.g. C2 of the yearly form)."""
    letters = "".join(ch for ch in ref if ch.isalpha())
    r0, c0 = int(ref[len(letters):]) - 1, column_index(letters)
    value = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 1900 <= value <= 2100:
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
        return _text(row[c0]) if c0 < len(row) else ""


def _find_sheet(names: list[str], wanted: str, problems: list[str]) -> str | None:
    """The workbook's sheet the layout names; a name that differs only in case, spacing or
    diacritics (``02_CHE``) is the same sheet, anything else is a problem."""
    if wanted in names:
        return wanted
    same = [n for n in names if fold(n) == fold(wanted)]
    if len(same) == 1:
        return same[0]
    problems.append(f"sheet {wanted!r} not found{_closest(wanted, names)} (sheets: {', '.join(names) or 'none'})")
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


def _workbook_is_empty(wb) -> bool:
    """True when no sheet of the workbook holds a single cell."""
    for name in wb.sheet_names:
        try:
            rows = sheet_rows(wb.get_sheet_by_name(name))
        except BaseException as exc:
            if not reader_failure(exc):
                raise
            return False
        if any(_text(v) for row in rows for v in row):
            return False
    return True


def _locate_columns(sheet: _Sheet, spec: dict, problems: list[str]) -> bool:
    """Find the layout's columns by header text; when the whole header sits on other rows, say so
    in one problem rather than one per column.  Returns whether the area column was found."""
    sheet.texts = header_texts(sheet.rows, spec["header_rows"], sheet.merged)
    column_problems: list[str] = []
    anchors = header_anchors(sheet.rows, spec["header_rows"], sheet.merged)
    sheet.columns = _match_columns(sheet.texts, spec, sheet.name, column_problems, anchors)
    if column_problems:
        shift = _header_shift(sheet, spec)
        if shift is not None:
            moved = [r + shift for r in spec["header_rows"]]
            problems.append(f"sheet {sheet.name!r}: the table header is on {_rows_text(moved).replace('header ', '')}, "
                            f"not on {_rows_text(spec['header_rows']).replace('header ', '')} as its layout says "
                            "(a row was inserted or deleted above the table); restore the form's layout")
            return False
        problems.extend(column_problems)
    return any(col is spec["area"] for col in sheet.columns.values())


def _header_shift(sheet: _Sheet, spec: dict) -> int | None:
    """How many rows the whole header moved, when every column is found there (nearest first)."""
    rows_ = spec["header_rows"]
    for shift in sorted(range(1 - min(rows_), MAX_HEADER_SHIFT + 1), key=abs):
        probe: list[str] = []
        if shift and len(sheet.rows) >= max(rows_) + shift:
            _match_columns(header_texts(sheet.rows, [r + shift for r in rows_], sheet.merged), spec, sheet.name, probe)
            if not probe:
                return shift
    return None


def read_workbook(record: SourceRecord, spec_all: dict) -> Extracted:
    """Read every sheet named in the layout; all problems of the file are collected."""
    out = Extracted(record.source_id)
    wb, checked = open_checked(record.path)
    for spec in spec_all["sheets"]:
        name = _find_sheet(wb.sheet_names, spec["sheet"], out.problems)
        sheet = _load_sheet(wb, name, record.path.name, checked, out.problems) if name else None
        if sheet is not None:
            _read_sheet(out, record, spec_all, spec, sheet)
    if out.problems and _workbook_is_empty(wb):
        out.problems = [f"the workbook is empty: none of its sheets ({', '.join(wb.sheet_names) or 'none'}) "
                        "holds a cell; is it the right file?"]
    return out


@dataclass
class _Body:
    """What reading the rows of one table needs, worked out once from its header."""

    area_col: int
    status_col: int | None
    value_cols: dict[int, dict]
    units: list
    year: int | None
    spread: dict[tuple[int, int], tuple[int, int]]   # cell of a harmless merge → its first cell
    flagged: dict[tuple[int, int], str]              # value cell in a merge that makes it unusable → range
    header_cells: set[str]                           # folded header texts, to see a second table start


def _read_sheet(out: Extracted, record: SourceRecord, spec_all: dict, spec: dict, sheet: _Sheet) -> None:
    """Header, then the body row by row until the notes under the table."""
    if not any(_text(v) for row in sheet.rows for v in row) and not sheet.marks.formulas:
        out.problems.append(f"sheet {sheet.name!r} is empty: expected a table with its "
                            f"{_rows_text(spec['header_rows'])}")
        return
    if not _locate_columns(sheet, spec, out.problems):
        return
    body = _body_of(sheet, spec_all, spec, out.problems)
    first_body = spec.get("unit_row", spec["header_rows"][-1])
    marked_rows = {r for r, _ in sheet.marks.formulas} | {r for r, _ in sheet.marks.errors}
    ended_at = None
    for r0 in range(first_body, len(sheet.rows)):
        texts = [sheet.text(*body.spread.get((r0, c), (r0, c))) for c in range(len(sheet.rows[r0]))]
        if not any(texts) and r0 not in marked_rows:
            continue
        first = next((t for t in texts if t), "")
        if ended_at is not None or _is_note(first):
            if ended_at is None:
                ended_at = r0
            elif not _is_note(first):
                c = next(i for i, t in enumerate(texts) if t)
                out.problems.append(f"sheet {sheet.name!r}: content below the table at {cell_ref(r0, c)} "
                                    f"({first!r}) is not read; move it to its own sheet")
            continue
        repeated = next((c for c, t in enumerate(texts) if t and fold(t) in body.header_cells), None)
        if repeated is not None:
            out.problems.append(f"sheet {sheet.name!r}: a second table starts at row {r0 + 1} "
                                f"({cell_ref(r0, repeated)} repeats the header {texts[repeated]!r}); only one table "
                                "per sheet is read: move it to its own sheet")
            return
        _read_row(out, record, spec_all, spec, sheet, body, r0, texts)


def _body_of(sheet: _Sheet, spec_all: dict, spec: dict, problems: list[str]) -> _Body:
    area_col = next(c for c, col in sheet.columns.items() if col is spec["area"])
    status_col = next((c for c, col in sheet.columns.items() if col is spec.get("status")), None)
    value_cols = {c: col for c, col in sheet.columns.items() if c not in (area_col, status_col)}
    year = _year_cell(sheet.rows, spec_all["year_cell"], sheet.name, problems) if spec_all.get("year_cell") else None
    unit_row = spec.get("unit_row")
    units = sheet.rows[unit_row - 1] if unit_row and unit_row <= len(sheet.rows) else []
    first_body = spec.get("unit_row", spec["header_rows"][-1])
    spread, flagged = _body_merges(sheet, first_body, set(value_cols), (area_col, status_col))
    header_cells = {fold(sheet.text(r1 - 1, c)) for r1 in spec["header_rows"] for c in range(len(sheet.texts))}
    return _Body(area_col, status_col, value_cols, units, year, spread, flagged, header_cells - {""})


def _read_row(out: Extracted, record: SourceRecord, spec_all: dict, spec: dict, sheet: _Sheet, body: _Body,
              r0: int, texts: list[str]) -> None:
    """One row of the table: a cell per value column (or a reject saying why not)."""
    area_text = texts[body.area_col] if body.area_col < len(texts) else ""
    total_labels = {fold(t) for t in spec_all.get("total_labels", [])}
    is_total = fold(area_text) in total_labels or fold(area_text.split(" - ")[0]) in total_labels
    status_col = body.status_col
    status_text = texts[status_col] if status_col is not None and status_col < len(texts) else ""
    status = spec_all.get("status_choices", {}).get(status_text, "") if status_text else ""
    row = sheet.rows[r0]
    for c, col in body.value_cols.items():
        raw = row[c] if c < len(row) else None
        if sheet.text(r0, c) == "" and not sheet.marks.marked(r0, c):
            continue
        ref = sheet.ref(r0, c)
        trouble = _unusable(sheet, r0, c, raw, body.flagged)
        if trouble:
            out.reject(ref, *trouble)
            continue
        if not area_text:
            out.reject(ref, "area", raw, f"value without an area name in {cell_ref(r0, body.area_col)}")
            continue
        if status_text and not status:
            choices = ", ".join(spec_all.get("status_choices", {}))
            out.reject(ref, "status", status_text,
                       f"status {status_text!r} in {cell_ref(r0, status_col)} is not one of: {choices}")
            continue
        unit = _text(body.units[c]) if c < len(body.units) else ""
        out.cells.append({
            "source_id": record.source_id, "source_ref": ref, "indicator": col["indicator"],
            "area_raw": spec_all.get("total_area", "106") if is_total else area_text,
            "year_raw": col.get("year", spec.get("year", body.year)), "raw_value": raw,
            "unit_raw": unit or col.get("unit", ""), "base_year": col.get("base_year"),
            "note": col.get("note", ""), "status": status,
        })
    ignored = {fold(h) for h in spec.get("ignore", [])}
    for c, text in enumerate(texts):
        if text and c not in sheet.columns and fold(sheet.texts[c]) not in ignored and (r0, c) not in body.spread:
            out.reject(sheet.ref(r0, c), "column", row[c], "value in a column without a known header")


def _body_merges(sheet: _Sheet, first_body: int, value_cols: set[int], label_cols: tuple
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
            flagged.update({(r0, c): safety.range_ref(merge) for c in cols})
    return spread, flagged


def _unusable(sheet: _Sheet, r0: int, c0: int, raw: object, flagged: dict) -> tuple[str, object, str] | None:
    """Why a value cell cannot be used as calamine read it: (field, raw value, reason), or None.

    Hidden rows and columns are refused rather than read: a figure nobody sees on screen is
    often an old or draft one kept out of sight, and using it would add an invisible number.
    A hidden ``-`` (no figure) is let through, to be counted as missing like any other.
    """
    marks = sheet.marks
    if sheet.text(r0, c0) in MISSING_TOKENS and not marks.marked(r0, c0):
        return None
    if marks.row_hidden(r0):
        return "row", raw, (f"row {r0 + 1} is hidden: a figure nobody sees on screen is not used; "
                            "unhide the row (or delete it) and run again")
    if marks.col_hidden(c0):
        return "column", raw, (f"column {column_letter(c0)} is hidden: a figure nobody sees on screen is not used; "
                               "unhide the column (or delete it) and run again")
    if (r0, c0) in flagged:
        return "merged", raw, (f"in merged cells {flagged[(r0, c0)]} in the table body: one value cannot stand for "
                               "several areas or columns; unmerge the cells and type the value in each")
    if (r0, c0) in marks.formulas:
        return "formula", marks.formulas[(r0, c0)], ("formula without a cached value: open and save the file in "
                                                     "Excel/LibreOffice")
    if (r0, c0) in marks.errors:
        return "value", marks.errors[(r0, c0)], ("Excel error value in the cell: correct the formula or type the "
                                                 "figure")
    return None


# --- CSV ---------------------------------------------------------------------------------

def plausible_vietnamese(text: str) -> bool:
    """True when every non-ASCII character is a Vietnamese letter or a common typographic sign:
    the test that tells Windows-1258 text from bytes of some other code page.

    >>> plausible_vietnamese("Huyện Tam Đường – 1.947 ha"), plausible_vietnamese("Straße")
    (True, False)
    """
    for ch in set(text):
        if ch.isascii() or ch in "đĐ" or ch in TEXT_SIGNS:
            continue
        base, *marks = unicodedata.normalize("NFD", ch)
        if not (base.isascii() and base.isalpha() and marks and all(m in VIETNAMESE_MARKS for m in marks)):
            return False
    return True


def decode_csv(data: bytes, name: str) -> str:
    """CSV bytes to NFC text: a BOM (UTF-8, UTF-16, UTF-32) decides; else UTF-8; else Windows-1258,
    the Vietnamese code page Excel uses for "CSV (Comma delimited)" on a Vietnamese Windows.

    Windows-1258 writes tone marks as combining characters, hence the NFC; it is accepted only
    when the text reads as Vietnamese, so a file in another code page is refused, not garbled.

    >>> decode_csv("Bản Hòn".encode("utf-16"), "x.csv"), decode_csv(b"Ba\\xd2n Ho\\xccn", "x.csv")
    ('Bản Hòn', 'Bản Hòn')
    """
    if data.startswith((safety.ZIP_MAGIC, safety.OLE2_MAGIC)):
        raise SourceError(name, ["is a workbook (Excel or OpenDocument), not CSV text, but its layout reads CSV: "
                                 "export the sheet as 'CSV UTF-8 (Comma delimited)'"])
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                return unicodedata.normalize("NFC", data.decode(codec))
            except UnicodeDecodeError as exc:
                raise SourceError(name, [f"not {codec.upper()} text although it starts with that byte-order mark "
                                         f"(byte {exc.start}); save the file as 'CSV UTF-8'"]) from None
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise SourceError(name, [f"line {line}: NUL bytes: it is UTF-16 text without a byte-order mark, or not "
                                 "text at all; save the file as 'CSV UTF-8'"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1258")
        except UnicodeDecodeError:
            text = ""
        if not text or not plausible_vietnamese(unicodedata.normalize("NFC", text)):
            line = data[:exc.start].count(b"\n") + 1
            raise SourceError(name, [f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}) nor Vietnamese "
                                     "Windows-1258; save the file as 'CSV UTF-8'"]) from None
    return unicodedata.normalize("NFC", text)


def read_csv_text(path: Path) -> str:
    """Decode a CSV file (see ``decode_csv``); the file is opened read-only through ``kpi.safety``."""
    return decode_csv(safety.read_raw(path), path.name)


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: comma, semicolon (Excel where the comma is the decimal
    mark, as in Vietnam) or tab -- whichever splits it into the most fields; comma on a tie.

    >>> sniff_delimiter("ma;ten;gia_tri\\nx;y;74,03"), sniff_delimiter("a,b\\n")
    (';', ',')
    """
    header = text.split("\n", 1)[0]
    return max(CSV_DELIMITERS, key=lambda d: len(next(csv.reader([header], delimiter=d), [])))


def _numbered_rows(text: str, delimiter: str, out: Extracted) -> list[tuple[int, list[str]]] | None:
    """Records with the line each starts on (a quoted value may span lines); strict quoting, so a
    quote left open is a problem naming its line instead of swallowing the rest of the file."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, start = [], 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        out.problems.append(f"line {start}: cannot be read as CSV ({exc}); check the double quotes on that line")
        return None
    return rows


def _csv_rows(record: SourceRecord, spec: dict, out: Extracted) -> tuple[list[str], list[tuple[int, dict]]]:
    text = read_csv_text(record.path)
    delimiter = sniff_delimiter(text)
    numbered = _numbered_rows(text, delimiter, out)
    if numbered is None:
        return [], []
    if not numbered:
        out.problems.append("the file is empty: expected a header line")
        return [], []
    header = [nfc(h) for h in numbered[0][1]]
    mapping = spec["columns"]
    optional = set(spec.get("optional", []))
    for role, column in mapping.items():
        if column not in header and role not in optional:
            out.problems.append(f"line 1: column {column!r} ({role}) not found{_closest(column, header)}")
    known = set(mapping.values()) | set(spec.get("extra", []))
    for h in header:
        if h not in known:
            out.problems.append(f"line 1: unknown column {h!r}{_closest(h, list(known))}")
    for h in sorted({h for h in header if header.count(h) > 1}):
        out.problems.append(f"line 1: column {h!r} appears {header.count(h)} times; keep one")
    records = []
    for line_no, row in numbered[1:]:
        if not any(v.strip() for v in row):
            continue
        if len(row) != len(header):
            hint = (f"; a value holding {'a tab' if delimiter == chr(9) else repr(delimiter)} must be in double "
                    "quotes" if len(row) > len(header) else "")
            out.reject(f"{record.path.name}:{line_no}", "line", delimiter.join(row),
                       f"line has {len(row)} fields, the header has {len(header)}{hint}")
            continue
        values = dict(zip(header, row))
        records.append((line_no, {role: values.get(column, "") for role, column in mapping.items()}))
    return header, records


def read_records(record: SourceRecord, spec: dict) -> Extracted:
    """A CSV with one figure per line; an increase column gives a second figure on the line."""
    out = Extracted(record.source_id)
    _, rows = _csv_rows(record, spec, out)
    for line_no, row in rows:
        ref = f"{record.path.name}:{line_no}"
        passage = nfc(row.get("ref", ""))
        full_ref = f"{ref} {passage}".strip()
        note = "; ".join(nfc(row[r]) for r in spec.get("note_roles", ["note"]) if nfc(row.get(r, "")))
        base = {"source_id": record.source_id, "area_raw": row.get("area", ""),
                "year_raw": row.get("year", ""), "unit_raw": row.get("unit", ""), "note": note}
        out.cells.append({**base, "source_ref": full_ref, "indicator": nfc(row.get("indicator", "")),
                          "raw_value": row.get("value", ""), "base_year": None, "status": ""})
        if row.get("increase", "").strip():
            out.cells.append({**base, "source_ref": full_ref + " (increase)",
                              "indicator": nfc(row.get("indicator", "")) + ".increase",
                              "raw_value": row["increase"], "base_year": row.get("base_year", ""), "status": ""})
    return out


def read_list(record: SourceRecord, spec: dict) -> Extracted:
    """A CSV of named things, renamed to the layout's roles and kept whole."""
    out = Extracted(record.source_id)
    _, rows = _csv_rows(record, spec, out)
    table = spec["table"]
    out.lists[table] = [
        {**{role: nfc(v) for role, v in row.items()}, "source_id": record.source_id,
         "source_ref": f"{record.path.name}:{line_no}"}
        for line_no, row in rows
    ]
    return out


READERS = {"workbook": read_workbook, "records": read_records, "list": read_list}


def extract(record: SourceRecord, ref_dir: Path | None = None) -> Extracted:
    """Read one raw file with the layout its provenance record names."""
    spec = load_layout(record.meta["layout"], ref_dir)
    reader = READERS.get(spec.get("kind"))
    if reader is None:
        raise SourceError(record.path.name, [f"layout {record.meta['layout']!r} has unknown kind {spec.get('kind')!r}"])
    out = reader(record, spec)
    if out.problems:
        raise SourceError(record.path.name, out.problems)
    return out


def cells_frame(parts: list[Extracted]) -> pd.DataFrame:
    rows = [cell for part in parts for cell in part.cells]
    return pd.DataFrame(rows, columns=CELL_COLUMNS)
