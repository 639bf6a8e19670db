"""What the sheet XML says that calamine does not: hidden rows and columns, formulas without
a cached value, error values such as ``#DIV/0!`` (all read as empty cells by calamine), and
for .ods the merged cells.

The XML is parsed (with defusedxml) only when a cheap byte scan finds one of these, so a plain
workbook costs nothing here.  Parse errors are raised as they are (``ParseError``,
``DefusedXmlException``, ``ValueError``); ``kpi.safety`` turns them into a problem naming the file.
"""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import dataclass, field

from defusedxml.ElementTree import iterparse as xml_iterparse

from kpi.errors import cell_ref, column_index

MAX_REPEATED_CELLS = 10_000  # .ods cells one repeated formula cell stands for that are listed
XLSX_MARKERS = re.compile(rb"""hidden=["'](?:1|true)["']|<(?:\w+:)?f[\s>/]|\st=["']e["']""")
ODS_MARKERS = re.compile(rb"visibility=|formula=|-spanned=")
# XLSX_MARKERS' alternatives with a literal start, which the scan jumps to (8x quicker on the bench forms)
_HIDDEN, _FORMULA = re.compile(rb"""hidden=["'](?:1|true)["']"""), re.compile(rb"<f[\s>/]")
# a prefixed <x:f> or an error cell: then the full scan (each searched by itself, from its literal start)
_PREFIXED_FORMULA, _ERROR = re.compile(rb":f[\s>/]"), re.compile(rb"""t=["']e["']""")


def has_markers(xml: bytes) -> bool:
    """``XLSX_MARKERS.search(xml)``, quicker: hidden rows or columns, a formula, an error value.

    >>> has_markers(b'<row r="3" hidden="1">'), has_markers(b'<c r="A1" t="s"><v>1</v></c>')
    (True, False)
    >>> has_markers(b'<x:c t="e"><x:v>#N/A</x:v></x:c>'), has_markers(b'<x:f>A1</x:f>')
    (True, True)
    """
    if _HIDDEN.search(xml) or _FORMULA.search(xml):
        return True
    return bool((_PREFIXED_FORMULA.search(xml) or _ERROR.search(xml)) and XLSX_MARKERS.search(xml))


@dataclass(frozen=True)
class SheetMarks:
    """What the sheet XML says that calamine does not: hidden rows and columns, formulas
    without a cached value, error values and (for .ods) merged cells; all 0-based."""

    hidden_rows: tuple[tuple[int, int], ...] = ()  # half-open ranges [start, stop)
    hidden_cols: tuple[tuple[int, int], ...] = ()
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # uncached formula text by cell
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # error value (and formula) by cell
    merges: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()

    def row_hidden(self, r0: int) -> bool:
        return any(start <= r0 < stop for start, stop in self.hidden_rows)

    def col_hidden(self, c0: int) -> bool:
        return any(start <= c0 < stop for start, stop in self.hidden_cols)

    def marked(self, r0: int, c0: int) -> bool:
        return (r0, c0) in self.formulas or (r0, c0) in self.errors


NO_MARKS = SheetMarks()


def local_name(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def attribute(elem, local: str) -> str | None:
    """An attribute by its local name, whatever its namespace prefix."""
    for key, value in elem.attrib.items():
        if local_name(key) == local:
            return value
    return None


def _true(value: str | None) -> bool:
    return value in ("1", "true")


def _cell_position(ref: str | None, row: int, col: int) -> tuple[int, int]:
    """0-based (row, column) of a cell's ``r`` attribute, or the next position when it has none."""
    if not ref:
        return row, col + 1
    letters = ref.rstrip("0123456789")
    return int(ref[len(letters) :]) - 1, column_index(letters)


def xlsx_marks(xml: bytes) -> SheetMarks:
    """Hidden rows/columns, uncached formulas and error cells of one worksheet part.

    >>> m = xlsx_marks(b'<worksheet><cols><col min="2" max="3" hidden="1"/></cols><sheetData>'
    ...     b'<row r="2" hidden="1"><c r="A2"><f>B2*2</f><v/></c><c r="B2" t="e"><v>#DIV/0!</v></c></row>'
    ...     b'</sheetData></worksheet>')
    >>> m.hidden_rows, m.hidden_cols, m.formulas, m.errors
    (((1, 2),), ((1, 3),), {(1, 0): '=B2*2'}, {(1, 1): '#DIV/0!'})
    """
    hidden_rows, hidden_cols, formulas, errors = [], [], {}, {}
    row = -1
    for _, elem in xml_iterparse(io.BytesIO(xml), events=("end",), forbid_dtd=True):
        tag = local_name(elem.tag)
        if tag == "col" and _true(elem.get("hidden")):
            hidden_cols.append((int(elem.get("min")) - 1, int(elem.get("max"))))
        elif tag == "row":  # its cells are still attached: read them here, then let the row go
            row = int(elem.get("r")) - 1 if elem.get("r") else row + 1
            if _true(elem.get("hidden")):
                hidden_rows.append((row, row + 1))
            _xlsx_row_cells(elem, row, formulas, errors)
            elem.clear()
    return SheetMarks(tuple(hidden_rows), tuple(hidden_cols), formulas, errors)


def _xlsx_row_cells(row_elem, row: int, formulas: dict, errors: dict) -> None:
    """Uncached formulas (no ``<v>``, or an empty one for a non-text result) and error cells of a row."""
    col = -1
    for cell in row_elem:
        if local_name(cell.tag) != "c":
            continue
        _, col = _cell_position(cell.get("r"), row, col)
        children = {local_name(child.tag): child for child in cell}
        formula, value, kind = children.get("f"), children.get("v"), cell.get("t")
        if formula is None and kind != "e":
            continue
        cached = value is not None and (bool(value.text) or kind == "str")
        text = f"={formula.text}" if formula is not None and formula.text else "(shared formula)"
        if formula is not None and not cached:
            formulas[(row, col)] = text
        elif kind == "e":
            errors[(row, col)] = (value.text if value is not None else "#ERROR") + (
                f" (formula {text})" if formula is not None else ""
            )


def _repeat(elem, local: str) -> int:
    return max(int(attribute(elem, local) or 1), 1)


def ods_marks(xml: bytes) -> dict[str, SheetMarks]:
    """Hidden rows/columns, uncached formulas and merged cells of every table in an .ods content.xml.

    Rows and cells may stand for many (``number-rows-repeated``), so hidden rows are ranges.
    """
    sheets: dict[str, SheetMarks] = {}
    current: dict | None = None
    row = col = col_def = 0
    row_repeat = 1
    for event, elem in xml_iterparse(io.BytesIO(xml), events=("start", "end"), forbid_dtd=True):
        tag = local_name(elem.tag)
        if event == "start":
            if tag == "table":
                current = {"name": attribute(elem, "name") or "", "rows": [], "cols": [], "formulas": {}, "merges": []}
                row = col_def = 0
            elif current is None:
                continue
            elif tag == "table-column":
                n = _repeat(elem, "number-columns-repeated")
                if attribute(elem, "visibility") in ("collapse", "filter"):
                    current["cols"].append((col_def, col_def + n))
                col_def += n
            elif tag == "table-row":
                row_repeat, col = _repeat(elem, "number-rows-repeated"), 0
                if attribute(elem, "visibility") in ("collapse", "filter"):
                    current["rows"].append((row, row + row_repeat))
            elif tag in ("table-cell", "covered-table-cell"):
                n = _repeat(elem, "number-columns-repeated")
                if tag == "table-cell":
                    _ods_cell(elem, current, row, col, row_repeat, n)
                col += n
            continue
        if tag == "table-row":
            row += row_repeat
            elem.clear()
        elif tag == "table" and current is not None:
            sheets[current["name"]] = SheetMarks(
                tuple(current["rows"]), tuple(current["cols"]), current["formulas"], {}, tuple(current["merges"])
            )
            current = None
            elem.clear()
    return sheets


def _ods_cell(elem, sheet: dict, row: int, col: int, rows: int, cols: int) -> None:
    """Record an .ods cell's uncached formula (no value type) and its merge span."""
    formula = attribute(elem, "formula")
    if formula and not attribute(elem, "value-type"):
        text = "=" + formula.split(":", 1)[-1].lstrip("=") if formula.startswith("of:") else formula
        cells = itertools.product(range(row, row + rows), range(col, col + cols))
        sheet["formulas"].update(dict.fromkeys(itertools.islice(cells, MAX_REPEATED_CELLS), text))
    spans = _repeat(elem, "number-rows-spanned"), _repeat(elem, "number-columns-spanned")
    if spans != (1, 1):
        sheet["merges"].append(((row, col), (row + spans[0] - 1, col + spans[1] - 1)))


def range_ref(merge: tuple[tuple[int, int], tuple[int, int]]) -> str:
    """A1 notation of a merged range.

    >>> range_ref(((7, 1), (8, 1)))
    'B8:B9'
    """
    (top, left), (bottom, right) = merge
    return f"{cell_ref(top, left)}:{cell_ref(bottom, right)}"


def xlsx_marks_by_sheet(parts: dict[str, bytes], sheet_parts: dict[str, str]) -> dict[str, SheetMarks]:
    """Marks of every worksheet with any (sheet name → marks), from its XML part; raises on bad XML
    with ``.part`` set on the exception to the part's name."""
    marks = {}
    for sheet, part in sheet_parts.items():
        xml = parts.get(part, b"")
        if has_markers(xml):  # cheap scan first: most sheets have none of these
            try:
                marks[sheet] = xlsx_marks(xml)
            except Exception as exc:
                exc.part = part
                raise
    return marks


def ods_marks_by_sheet(content: bytes) -> dict[str, SheetMarks]:
    """Marks of every table of an .ods ``content.xml`` with any (table name → marks)."""
    return ods_marks(content) if ODS_MARKERS.search(content) else {}
