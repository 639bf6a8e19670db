"""A sheet's table header: its rows joined per column (merged cells spread), each layout column
found by its header text, and a whole header moved to other rows recognised as one problem."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpi.cells import cell_text, closest
from kpi.errors import column_letter
from kpi.layouts import SheetLayout
from kpi.text import fold

if TYPE_CHECKING:
    from kpi.extract import _Sheet

MAX_HEADER_SHIFT = 10  # rows a whole header may have moved and still be recognised, to say so


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
            grid[(r0, c)] = cell_text(row[c]) if c < len(row) else ""
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


def _match_columns(
    texts: list[str], spec: SheetLayout, sheet: str, problems: list[str], anchors: list[int] | None = None
) -> dict[int, dict]:
    """Map each column of the layout to its index by header text; report missing/unknown columns."""
    by_fold = {}
    for c, text in enumerate(texts):
        if text:
            by_fold.setdefault(fold(text), c)
    found: dict[int, dict] = {}
    wanted = [spec.area] + ([spec.status] if spec.status else []) + list(spec.columns)
    for col in wanted:
        c = by_fold.get(fold(col.header))
        if c is None:
            problems.append(
                f"sheet {sheet!r}: column {col.header!r} not found in "
                f"{_rows_text(spec.header_rows)}{closest(col.header, texts)}"
            )
            continue
        found[c] = col
    ignored = {fold(h) for h in spec.ignore}
    for c, text in enumerate(texts):
        if text and c not in found and fold(text) not in ignored:
            known = [col.header for col in wanted]
            row1 = anchors[c] if anchors else spec.header_rows[0]
            problems.append(
                f"sheet {sheet!r}: unknown column {text!r} at {column_letter(c)}{row1}{closest(text, known)}"
            )
    return found


def _locate_columns(sheet: _Sheet, spec: SheetLayout, problems: list[str]) -> bool:
    """Find the layout's columns by header text; when the whole header sits on other rows, say so
    in one problem rather than one per column.  Returns whether the area column was found."""
    sheet.texts = header_texts(sheet.rows, list(spec.header_rows), sheet.merged)
    column_problems: list[str] = []
    anchors = header_anchors(sheet.rows, list(spec.header_rows), sheet.merged)
    sheet.columns = _match_columns(sheet.texts, spec, sheet.name, column_problems, anchors)
    if column_problems:
        shift = _header_shift(sheet, spec)
        if shift is not None:
            moved = [r + shift for r in spec.header_rows]
            problems.append(
                f"sheet {sheet.name!r}: the table header is on {_rows_text(moved).replace('header ', '')}, "
                f"not on {_rows_text(spec.header_rows).replace('header ', '')} as its layout says "
                "(a row was inserted or deleted above the table); restore the form's layout"
            )
            return False
        problems.extend(column_problems)
    return any(col is spec.area for col in sheet.columns.values())


HEADERS_KEPT = 256  # headers of different forms remembered by ``located_columns``
_headers: dict[tuple, tuple] = {}


def located_columns(sheet: _Sheet, spec: SheetLayout, problems: list[str]) -> bool:
    """``_locate_columns``, its result remembered for the next sheet of the same header: every copy
    of a form carries the same header rows (a nation's 7,000 sheets, a few headers), so its texts
    and columns are worked out once.  A header with a problem is worked out each time, as one
    that differs in any cell of its rows (or in its kind: ``1`` and ``True`` are equal, not their
    texts), in the width of the sheet or in its merged cells."""
    rows = sheet.rows
    key = (
        id(spec),
        max((len(r) for r in rows), default=0),
        tuple(tuple((type(v), v) for v in rows[r1 - 1]) if 0 < r1 <= len(rows) else None for r1 in spec.header_rows),
        tuple(tuple(merge) for merge in sheet.merged),
    )
    known = _headers.get(key)
    if known is not None and known[0] is spec:
        sheet.texts, sheet.columns = known[1], known[2]  # shared by the sheets of this header: read only
        return True
    found: list[str] = []
    located = _locate_columns(sheet, spec, found)
    problems.extend(found)
    if located and not found:
        if len(_headers) >= HEADERS_KEPT:
            _headers.clear()
        _headers[key] = (spec, sheet.texts, sheet.columns)
    return located


def _header_shift(sheet: _Sheet, spec: SheetLayout) -> int | None:
    """How many rows the whole header moved, when every column is found there (nearest first)."""
    rows_ = spec.header_rows
    for shift in sorted(range(1 - min(rows_), MAX_HEADER_SHIFT + 1), key=abs):
        probe: list[str] = []
        if shift and len(sheet.rows) >= max(rows_) + shift:
            _match_columns(header_texts(sheet.rows, [r + shift for r in rows_], sheet.merged), spec, sheet.name, probe)
            if not probe:
                return shift
    return None
