"""Read raw files as their layouts say, and rename: no cleaning here.

One generic reader per file kind, driven by the layout map of ``data/reference/layouts/``
(named by the file's provenance record):

* ``workbook`` -- a statistical-annex sheet: merged multi-row header, a unit row, one row
  per area, a ``TỔNG SỐ`` total row and notes under the table.  Columns are found by their
  header text, not their letter, so a column moved or inserted is still read; a missing or
  unknown header is a problem naming the closest known header.
* ``records`` -- a CSV with one figure per line (indicator code, area, year, value, unit).
* ``list`` -- a CSV of named things (OCOP products, partner projects, varieties), kept as a
  processed table; counts and sums over it are derived later.

Workbooks are read with python-calamine (a Rust reader, much faster than openpyxl on the
same files); openpyxl is used only to write workbooks.

Each reader returns ``Extracted``: value cells with their exact place (``source_ref``),
list rows, rows it could not place (rejects) and structural problems (which stop the file).
"""
from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kpi.errors import SourceError, cell_ref, column_index, column_letter
from kpi.reference import SourceRecord, layout as load_layout
from kpi.text import fold, nfc

CELL_COLUMNS = ["source_id", "source_ref", "indicator", "area_raw", "year_raw", "raw_value",
                "unit_raw", "base_year", "note", "status"]
REJECT_COLUMNS = ["source_id", "source_ref", "field", "raw_value", "reason"]
NOTE_PREFIXES = ("ghi chu", "nguon", "note", "source", "*")


@dataclass
class Extracted:
    source_id: str
    cells: list[dict] = field(default_factory=list)
    lists: dict[str, list[dict]] = field(default_factory=dict)
    rejects: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def reject(self, ref: str, field_: str, raw: object, reason: str) -> None:
        self.rejects.append({"source_id": self.source_id, "source_ref": ref, "field": field_,
                             "raw_value": "" if raw is None else str(raw), "reason": reason})


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

def open_workbook(path: Path):
    """Open a workbook with calamine; an unreadable file is a SourceError naming the file."""
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for each format problem
        raise SourceError(path.name, [f"cannot be read as a workbook: {exc}"]) from None


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
        row = rows[r0] if r0 < len(rows) else []
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


def _match_columns(texts: list[str], spec: dict, sheet: str, problems: list[str]) -> dict[int, dict]:
    """Map each column of the layout to its index by header text; report missing/unknown columns."""
    by_fold = {}
    for c, text in enumerate(texts):
        if text:
            by_fold.setdefault(fold(text), c)
    found: dict[int, dict] = {}
    wanted = [spec["area"]] + ([spec["status"]] if spec.get("status") else []) + spec["columns"]
    rows_ = spec["header_rows"]
    header_row_text = ("header row " if len(rows_) == 1 else "header rows ") + ", ".join(str(r) for r in rows_)
    for col in wanted:
        c = by_fold.get(fold(col["header"]))
        if c is None:
            problems.append(f"sheet {sheet!r}: column {col['header']!r} not found in "
                            f"{header_row_text}{_closest(col['header'], texts)}")
            continue
        found[c] = col
    ignored = {fold(h) for h in spec.get("ignore", [])}
    for c, text in enumerate(texts):
        if text and c not in found and fold(text) not in ignored:
            known = [col["header"] for col in wanted]
            problems.append(f"sheet {sheet!r}: unknown column {text!r} at {column_letter(c)}"
                            f"{spec['header_rows'][0]}{_closest(text, known)}")
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


def read_workbook(record: SourceRecord, spec_all: dict) -> Extracted:
    """Read every sheet named in the layout; all problems of the file are collected."""
    out = Extracted(record.source_id)
    wb = open_workbook(record.path)
    name = record.path.name
    total_labels = {fold(t) for t in spec_all.get("total_labels", [])}
    for spec in spec_all["sheets"]:
        sheet_name = spec["sheet"]
        if sheet_name not in wb.sheet_names:
            out.problems.append(f"sheet {sheet_name!r} not found{_closest(sheet_name, wb.sheet_names)}"
                                f" (sheets: {', '.join(wb.sheet_names) or 'none'})")
            continue
        sheet = wb.get_sheet_by_name(sheet_name)
        rows = sheet_rows(sheet)
        merged = getattr(sheet, "merged_cell_ranges", None) or []
        texts = header_texts(rows, spec["header_rows"], merged)
        columns = _match_columns(texts, spec, sheet_name, out.problems)
        area_col = next((c for c, col in columns.items() if col is spec["area"]), None)
        status_col = next((c for c, col in columns.items() if col is spec.get("status")), None)
        if area_col is None:
            continue
        sheet_year = None
        if spec_all.get("year_cell"):
            sheet_year = _year_cell(rows, spec_all["year_cell"], sheet_name, out.problems)
        units = rows[spec["unit_row"] - 1] if spec.get("unit_row") and spec["unit_row"] <= len(rows) else []
        ended_at = None
        for r0 in range(spec.get("unit_row", spec["header_rows"][-1]), len(rows)):
            row = rows[r0]
            texts_in_row = [_text(v) for v in row]
            if not any(texts_in_row):
                continue
            first = next(t for t in texts_in_row if t)
            if ended_at is not None or _is_note(first):
                if ended_at is None:
                    ended_at = r0
                elif not _is_note(first):
                    c = next(i for i, t in enumerate(texts_in_row) if t)
                    out.problems.append(f"sheet {sheet_name!r}: content below the table at {cell_ref(r0, c)} "
                                        f"({first!r}) is not read; move it to its own sheet")
                continue
            area_text = texts_in_row[area_col] if area_col < len(row) else ""
            is_total = fold(area_text) in total_labels or fold(area_text.split(" - ")[0]) in total_labels
            status_text = texts_in_row[status_col] if status_col is not None and status_col < len(row) else ""
            status = spec_all.get("status_choices", {}).get(status_text, "") if status_text else ""
            for c, col in columns.items():
                if col is spec["area"] or col is spec.get("status") or c >= len(row) or texts_in_row[c] == "":
                    continue
                ref = f"{name}!{sheet_name}!{cell_ref(r0, c)}"
                if not area_text:
                    out.reject(ref, "area", row[c], f"value without an area name in {cell_ref(r0, area_col)}")
                    continue
                if status_text and not status:
                    choices = ", ".join(spec_all.get("status_choices", {}))
                    out.reject(ref, "status", status_text,
                               f"status {status_text!r} in {cell_ref(r0, status_col)} is not one of: {choices}")
                    continue
                unit = _text(units[c]) if c < len(units) else ""
                out.cells.append({
                    "source_id": record.source_id, "source_ref": ref, "indicator": col["indicator"],
                    "area_raw": spec_all.get("total_area", "106") if is_total else area_text,
                    "year_raw": col.get("year", spec.get("year", sheet_year)), "raw_value": row[c],
                    "unit_raw": unit or col.get("unit", ""), "base_year": col.get("base_year"),
                    "note": col.get("note", ""), "status": status,
                })
            for c, text in enumerate(texts_in_row):
                if text and c not in columns and c != area_col and not any(
                        fold(texts[c]) == fold(h) for h in spec.get("ignore", [])):
                    out.reject(f"{name}!{sheet_name}!{cell_ref(r0, c)}", "column", row[c],
                               "value in a column without a known header")
    return out


# --- CSV ---------------------------------------------------------------------------------

def read_csv_text(path: Path) -> str:
    """Decode a CSV file: UTF-8 (with or without BOM); anything else is a problem for now."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(path.name, [f"not UTF-8 text (byte {exc.start}); save the file as CSV UTF-8"]) from None


def _csv_rows(record: SourceRecord, spec: dict, out: Extracted) -> tuple[list[str], list[tuple[int, dict]]]:
    text = read_csv_text(record.path)
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        out.problems.append("the file is empty: expected a header line")
        return [], []
    header = [nfc(h) for h in rows[0]]
    mapping = spec["columns"]
    optional = set(spec.get("optional", []))
    for role, column in mapping.items():
        if column not in header and role not in optional:
            out.problems.append(f"line 1: column {column!r} ({role}) not found{_closest(column, header)}")
    known = set(mapping.values()) | set(spec.get("extra", []))
    for h in header:
        if h not in known:
            out.problems.append(f"line 1: unknown column {h!r}{_closest(h, list(known))}")
    records = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in row):
            continue
        if len(row) != len(header):
            out.reject(f"{record.path.name}:{line_no}", "line", ",".join(row),
                       f"line has {len(row)} fields, the header has {len(header)}")
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
