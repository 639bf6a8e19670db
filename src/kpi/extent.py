"""Where a sheet's values are, found before calamine reads it, so that memory is bounded by the
cells that exist and never by the distance between them.

calamine holds a sheet as one dense block from its first value to its last (and .xls and .ods
workbooks whole as soon as they are opened): one stray value at XFD1048576 beside a table at
A1 asks for 17 billion cells (512 GB, and the process aborts), one at Z1048576 for 27 million
(1.3 GB).  So the value cells of each sheet are first located by a streaming scan of its XML
(or of the .xls records, ``kpi.xls``), a few bytes per cell, and

* a value cut off from the rest of the sheet by more than ``MAX_ROW_GAP`` empty rows or
  ``MAX_COL_GAP`` empty columns is a *stray*: it is cut out of the copy calamine reads and
  reported by its address and value (``kpi.extract`` rejects it);
* a sheet whose values, strays aside, still span more than ``MAX_SHEET_CELLS`` cells is not
  read (all its values are cut out) and is a problem naming its extent.

A sheet that spans fewer than ``MAX_SHEET_CELLS`` cells in all costs one quick pass and is left
as it is, however its values lie: the reader reports values outside the table itself.
"""

from __future__ import annotations

import html
import re
from array import array
from dataclasses import dataclass, field

from kpi.errors import cell_ref, column_index

MAX_ROW_GAP = 1_000  # empty rows between two groups of values: a table has a few (notes under it)
MAX_COL_GAP = 100  # empty columns between two groups: a form has a few dozen columns in all
MAX_SHEET_CELLS = 1_000_000  # rows × columns calamine may hold for one sheet (about 50 MB): 50,000 rows × 20
LISTED_STRAYS = 20  # strays reported one by one, with their value; the others are counted

_PREFIX = rb"(?:[\w.-]+:)?"
_XLSX_TAG = re.compile(rb"<(" + _PREFIX + rb")(row|c)(?=[\s/>])([^>]*?)(/?)>")
_XLSX_CELL_REF = re.compile(rb"<" + _PREFIX + rb"c\s[^>]*?\br=\"([A-Za-z]{1,3})([0-9]{1,7})\"")
_XLSX_CELL = re.compile(rb"<" + _PREFIX + rb"c[\s/>]")
# a cell with its address first (letters, digits), or (empty groups) any other cell
_XLSX_PLAIN_CELL = re.compile(rb'<c(?: r="([A-Z]{1,3})([0-9]{1,7})"|[\s/>])')
_XLSX_CELL_END = re.compile(rb"</" + _PREFIX + rb"c>")
_XLSX_VALUE = re.compile(rb"<" + _PREFIX + rb"(?:v>[^<]|is[\s>])")
_ROW_R = re.compile(rb"\br=\"([0-9]{1,7})\"")
_CELL_R = re.compile(rb"\br=\"([A-Za-z]{1,3})([0-9]{1,7})\"")
_ODS_TAG = re.compile(
    rb"<(/?)(" + _PREFIX + rb")(table|table-row|table-cell|covered-table-cell)(?=[\s/>])"
    rb"([^>]*?)(/?)>"
)
_ODS_CELL_END = re.compile(rb"</" + _PREFIX + rb"(?:covered-)?table-cell>")
_ODS_VALUE = re.compile(rb"<" + _PREFIX + rb"p[\s>]")
_ROWS_REPEATED = re.compile(rb"number-rows-repeated=\"([0-9]+)\"")
_COLS_REPEATED = re.compile(rb"number-columns-repeated=\"([0-9]+)\"")
_NAME = re.compile(rb"\bname=\"([^\"]*)\"")
_TEXT = re.compile(rb"<" + _PREFIX + rb"(?:t|v)(?:\s[^>]*)?>([^<]*)<")


@dataclass
class Cells:
    """The value cells of one sheet as rectangles (an .ods cell may repeat over rows and columns)
    with the byte span of the element holding each: compact arrays, a few bytes per cell."""

    top: array = field(default_factory=lambda: array("q"))
    left: array = field(default_factory=lambda: array("q"))
    rows: array = field(default_factory=lambda: array("q"))
    cols: array = field(default_factory=lambda: array("q"))
    start: array = field(default_factory=lambda: array("q"))
    end: array = field(default_factory=lambda: array("q"))

    def add(self, top: int, left: int, rows: int, cols: int, start: int, end: int) -> None:
        for arr, value in zip(
            (self.top, self.left, self.rows, self.cols, self.start, self.end), (top, left, rows, cols, start, end)
        ):
            arr.append(value)

    def __len__(self) -> int:
        return len(self.top)

    def box(self, which: range | list[int] | None = None) -> tuple[int, int, int, int] | None:
        """(top, left, bottom, right), 0-based and inclusive, of the given rectangles (all by default)."""
        idx = range(len(self)) if which is None else which
        if not len(idx):
            return None
        return (
            min(self.top[i] for i in idx),
            min(self.left[i] for i in idx),
            max(self.top[i] + self.rows[i] - 1 for i in idx),
            max(self.left[i] + self.cols[i] - 1 for i in idx),
        )


@dataclass(frozen=True)
class Stray:
    r0: int
    c0: int
    raw: str

    @property
    def ref(self) -> str:
        return cell_ref(self.r0, self.c0)


@dataclass(frozen=True)
class Extent:
    """What the scan found in a sheet that needs cutting: strays, or a sheet too large to read."""

    block: tuple[int, int, int, int] | None  # where the values kept lie (top, left, bottom, right)
    strays: tuple[Stray, ...] = ()  # the first LISTED_STRAYS, in sheet order
    stray_count: int = 0
    too_large: bool = False

    @property
    def span(self) -> str:
        top, left, bottom, right = self.block
        return f"{cell_ref(top, left)}:{cell_ref(bottom, right)}"

    @property
    def cells(self) -> int:
        top, left, bottom, right = self.block
        return (bottom - top + 1) * (right - left + 1)


def area(box: tuple[int, int, int, int] | None) -> int:
    return 0 if box is None else (box[2] - box[0] + 1) * (box[3] - box[1] + 1)


def _main_group(starts: array, lengths: array, weights: list[int], gap: int) -> tuple[int, int]:
    """[first, last] line of the heaviest group of intervals, groups being cut where more than
    ``gap`` empty lines separate two intervals (on a tie, the first group).

    >>> _main_group(array("q", [0, 3, 5000]), array("q", [1, 2, 1]), [1, 2, 1], 1000)
    (0, 4)
    """
    groups: list[tuple[int, int, int]] = []
    for i in sorted(range(len(starts)), key=starts.__getitem__):
        first, last = starts[i], starts[i] + lengths[i] - 1
        if groups and first - groups[-1][1] - 1 <= gap:
            lo, hi, weight = groups[-1]
            groups[-1] = (lo, max(hi, last), weight + weights[i])
        else:
            groups.append((first, last, weights[i]))
    lo, hi, _ = max(groups, key=lambda g: g[2])
    return lo, hi


def plan(cells: Cells) -> tuple[list[int], Extent] | None:
    """Which rectangles to cut and what to report, or None when the sheet can be read as it is."""
    if area(cells.box()) <= MAX_SHEET_CELLS:
        return None
    weights = [cells.rows[i] * cells.cols[i] for i in range(len(cells))]
    r_lo, r_hi = _main_group(cells.top, cells.rows, weights, MAX_ROW_GAP)
    c_lo, c_hi = _main_group(cells.left, cells.cols, weights, MAX_COL_GAP)
    kept, cut = [], []
    for i in range(len(cells)):
        inside = (
            r_lo <= cells.top[i]
            and cells.top[i] + cells.rows[i] - 1 <= r_hi
            and c_lo <= cells.left[i]
            and cells.left[i] + cells.cols[i] - 1 <= c_hi
        )
        (kept if inside else cut).append(i)
    block = cells.box(kept)
    if area(block) > MAX_SHEET_CELLS:
        return list(range(len(cells))), Extent(cells.box(), too_large=True)
    return cut, Extent(block, stray_count=sum(weights[i] for i in cut))


# --- .xlsx: one worksheet part -------------------------------------------------------------


def _letters_key(letters: bytes) -> int:
    return column_index(letters.decode("ascii"))


def xlsx_quick_box(xml: bytes) -> tuple[int, int, int, int] | None:
    """The box of every ``<c>`` element by its ``r`` attribute (empty ones too, a slight over-count),
    or None when some cell has no ``r`` (then only the full scan knows where cells are).

    >>> xlsx_quick_box(b'<row r="3"><c r="B3"><v>1</v></c><c r="AA7"/></row>')
    (2, 1, 6, 26)
    >>> xlsx_quick_box(b'<row><c><v>1</v></c></row>') is None
    True

    Most sheets are found by one quick pass (``_XLSX_PLAIN_CELL``: every ``<c`` with its ``r``
    first, as Excel and LibreOffice write it, and no prefixed element that could be a cell); any
    other sheet by the general patterns, which give the same box wherever the quick pass does.
    """
    if b":c" not in xml:
        refs = _XLSX_PLAIN_CELL.findall(xml)
        if (b"", b"") not in refs:  # every cell had its address first
            return _box_of(refs)
    refs = _XLSX_CELL_REF.findall(xml)
    if len(refs) != len(_XLSX_CELL.findall(xml)):
        return None
    return _box_of(refs)


def _box_of(refs: list[tuple[bytes, bytes]]) -> tuple[int, int, int, int]:
    if not refs:
        return (0, 0, 0, 0)
    letters, digits = zip(*refs)
    rows = [int(d) - 1 for d in set(digits)]  # each distinct address part converted once
    cols = [_letters_key(c) for c in set(letters)]
    return (min(rows), min(cols), max(rows), max(cols))


def xlsx_cells(xml: bytes) -> Cells:
    """Every ``<c>`` holding a value (``<v>`` with text, or an inline ``<is>``), with its position;
    cells without an ``r`` take the next column, rows without one the next row."""
    cells = Cells()
    row, col, pos = -1, -1, 0
    while True:
        m = _XLSX_TAG.search(xml, pos)
        if m is None:
            return cells
        pos = m.end()
        if m.group(2) == b"row":
            r = _ROW_R.search(m.group(3))
            row, col = (int(r.group(1)) - 1 if r else row + 1), -1
            continue
        r = _CELL_R.search(m.group(3))
        row, col = (int(r.group(2)) - 1, _letters_key(r.group(1))) if r else (max(row, 0), col + 1)
        if m.group(4):  # <c .../>: no value
            continue
        end = _XLSX_CELL_END.search(xml, pos)
        stop = end.end() if end else len(xml)
        if _XLSX_VALUE.search(xml, pos, stop):
            cells.add(row, col, 1, 1, m.start(), stop)
        pos = stop


def xlsx_cut(xml: bytes, cells: Cells, cut: list[int]) -> bytes:
    """The worksheet without the values of the cut cells: each becomes an empty ``<c r="…"/>``."""
    pieces, pos = [], 0
    for i in sorted(cut, key=cells.start.__getitem__):
        start, end = cells.start[i], cells.end[i]
        tag = _XLSX_TAG.match(xml, start)
        r = _CELL_R.search(tag.group(3))
        pieces += [xml[pos:start], b"<" + tag.group(1) + b"c" + (b' r="' + r.group(0)[3:] if r else b"") + b"/>"]
        pos = end
    pieces.append(xml[pos:])
    return b"".join(pieces)


class SharedStrings:
    """The shared strings of a workbook, parsed only as far as a cut cell needs (rich text runs joined)."""

    def __init__(self, xml: bytes):
        self._items = re.finditer(rb"<" + _PREFIX + rb"si[\s>](.*?)</" + _PREFIX + rb"si>", xml, re.S)
        self._seen: list[str] = []

    def __getitem__(self, index: int) -> str:
        while len(self._seen) <= index:
            m = next(self._items, None)
            if m is None:
                break
            self._seen.append("".join(html.unescape(t.decode("utf-8", "replace")) for t in _TEXT.findall(m.group(1))))
        return self._seen[index] if 0 <= index < len(self._seen) else ""


def xlsx_value(xml: bytes, start: int, end: int, shared: SharedStrings) -> str:
    """A cut cell's value as text: its shared string, inline text or ``<v>``."""
    tag_end = xml.index(b">", start)
    texts = [html.unescape(t.decode("utf-8", "replace")) for t in _TEXT.findall(xml, tag_end, end)]
    if re.search(rb"\bt=[\"']s[\"']", xml[start:tag_end]) and texts:
        return shared[int(texts[-1])] if texts[-1].strip().isdigit() else texts[-1]
    return "".join(texts)


# --- .ods: content.xml, every table --------------------------------------------------------


def _repeated(pattern: re.Pattern, attrs: bytes) -> int:
    m = pattern.search(attrs)
    return max(int(m.group(1)), 1) if m else 1


def ods_cells(xml: bytes) -> dict[str, Cells]:
    """Value cells of every table of an .ods ``content.xml`` (table name → cells), repeats kept as
    rectangles: a cell with a value type or a paragraph holds a value."""
    tables: dict[str, Cells] = {}
    cells, row, col, repeat, pos = None, 0, 0, 1, 0
    while True:
        m = _ODS_TAG.search(xml, pos)
        if m is None:
            return tables
        pos = m.end()
        closing, name, attrs, empty = m.group(1), m.group(3), m.group(4), m.group(5)
        if name == b"table":
            if not closing:
                title = _NAME.search(attrs)
                cells = tables.setdefault(html.unescape(title.group(1).decode("utf-8")) if title else "", Cells())
                row = 0
        elif cells is None:
            continue
        elif name == b"table-row":
            if closing or empty:
                row += repeat if closing else _repeated(_ROWS_REPEATED, attrs)
            else:
                repeat, col = _repeated(_ROWS_REPEATED, attrs), 0
        elif not closing:
            n = _repeated(_COLS_REPEATED, attrs)
            stop = pos
            if not empty:
                end = _ODS_CELL_END.search(xml, pos)
                stop = end.end() if end else len(xml)
            if b"value-type=" in attrs or (not empty and _ODS_VALUE.search(xml, pos, stop)):
                cells.add(row, col, repeat, n, m.start(), stop)
            col, pos = col + n, stop


def ods_cut(xml: bytes, cells: Cells, cut: list[int]) -> bytes:
    """content.xml without the values of the cut cells: each becomes an empty cell of the same width."""
    pieces, pos = [], 0
    for i in sorted(cut, key=cells.start.__getitem__):
        start, end = cells.start[i], cells.end[i]
        prefix = _ODS_TAG.match(xml, start).group(2)
        width = cells.cols[i]
        repeat = b" " + prefix + b'number-columns-repeated="' + str(width).encode() + b'"' if width > 1 else b""
        pieces += [xml[pos:start], b"<" + prefix + b"table-cell" + repeat + b"/>"]
        pos = end
    pieces.append(xml[pos:])
    return b"".join(pieces)


def ods_value(xml: bytes, start: int, end: int) -> str:
    """A cut .ods cell's value as text: its paragraphs, or its value attribute."""
    element = xml[start:end]
    paragraphs = re.findall(rb"<" + _PREFIX + rb"p(?:\s[^>]*)?>(.*?)</" + _PREFIX + rb"p>", element, re.S)
    if paragraphs:
        return html.unescape(re.sub(rb"<[^>]*>", b"", b" ".join(paragraphs)).decode("utf-8", "replace"))
    value = re.search(rb"value=\"([^\"]*)\"", element)
    return html.unescape(value.group(1).decode("utf-8", "replace")) if value else ""


def strays_of(cells: Cells, cut: list[int], value) -> tuple[Stray, ...]:
    """The first ``LISTED_STRAYS`` cut cells in sheet order, with their values (``value(i)``)."""
    first = sorted(cut, key=lambda i: (cells.top[i], cells.left[i]))[:LISTED_STRAYS]
    return tuple(Stray(cells.top[i], cells.left[i], value(i)) for i in first)
