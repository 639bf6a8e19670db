"""What a reader hands on: value cells with their place, list rows, rejects and problems.

Shared by the workbook reader (``kpi.extract``) and the CSV reader (``kpi.csvread``), and by
everything downstream that reads their output (cleaning, ``kpi check``, ingest).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd

from kpi.schema import CELLS
from kpi.text import fold, nfc

LISTED = 8  # names a one-line problem lists before it says how many there are in all


_NONE = type(None)
NAN = float("nan")
_UNCHANGED = ({str}, {float}, {int}, {bool}, {_NONE}, {str, float, int}, {str, float}, {str, int}, set())


def as_read(values: list) -> list:
    """The values as a table column of them gives them back: what cleaning has always seen.

    A column of cells goes through a pandas frame in ``cells_frame``, which turns ``None``
    into NaN where the other values are text, and whole numbers with a ``None`` among them
    into floats (``2012.0``, ``nan``); mixed columns keep their values.  Cells gathered as
    lists (``Cells``) are given the same values without building the frame: the common kinds
    here, any other mix through pandas itself.

    >>> as_read(["a", None]), as_read([2012, None]), as_read([2012, "x", None])
    (['a', nan], [2012.0, nan], [2012, 'x', None])
    """
    kinds = set(map(type, values))
    if kinds in _UNCHANGED:
        return values
    if kinds == {str, _NONE}:
        return [NAN if v is None else v for v in values]
    if kinds <= {int, float, _NONE}:
        return [NAN if v is None else float(v) for v in values]
    return pd.DataFrame({"x": values})["x"].tolist()


def value_rule(kinds: set[type]) -> Callable[[object], object] | None:
    """What ``as_read`` makes of each value of a column holding values of these kinds, one value at a
    time; None where pandas would decide it (other mixes: a frame's column is made of them).

    >>> value_rule({int, type(None)})(None), value_rule({int, type(None)})(2012), value_rule({str})("x")
    (nan, 2012.0, 'x')
    """
    if kinds in _UNCHANGED:
        return as_is
    if kinds == {str, _NONE}:
        return _nan_for_none
    if kinds <= {int, float, _NONE}:
        return _number
    return None


def as_is(value: object) -> object:
    """A value as ``as_read`` gives it back from a column of kinds it leaves alone: itself."""
    return value


def _nan_for_none(value: object) -> object:
    return NAN if value is None else value


def _number(value: object) -> object:
    return NAN if value is None else float(value)


class SheetBlock:
    """The value cells of one sheet's usable rows, as the sheet holds them: each value column's
    context once (source, place prefix, indicator, year, unit, base year, note: ``CELLS`` less the
    row's and the value), each row's once (its values as calamine read them, its number, area and
    status).  A cell is a row's value in a value column that is not empty (not ``None``, not "").

    A sheet with no hidden row or column, formula, error value or merge that makes a value
    unusable is read this way (``kpi.extract``); cleaning reads the block without a tuple per
    cell (``kpi.clean``), and ``cells()`` gives the very tuples a row-by-row reading would.
    """

    __slots__ = ("columns", "rows")

    def __init__(self, columns: list[tuple[int, tuple]]):
        self.columns = columns  # (column index, (source_id, ref prefix, indicator, year, unit, base_year, note))
        self.rows: list[tuple[list, str, str, str]] = []  # (values, row number, area, status)

    def cells(self) -> Iterator[tuple]:
        """The cells as tuples of the ``CELLS`` columns, row by row, in the order of the columns."""
        for values, row_no, area, status in self.rows:
            width = len(values)
            for c, (source_id, ref, indicator, year, unit, base, note) in self.columns:
                raw = values[c] if c < width else None
                if raw is not None and raw != "":
                    yield (source_id, ref + row_no, indicator, area, year, raw, unit, base, note, status)


class Cells:
    """The value cells a reader found, in the order it found them: runs of single cells (one list
    per column of ``schema.CELLS``, rather than a dict per cell) and sheet blocks (``SheetBlock``).

    Iterating gives the cells as dicts; ``column(name)`` a column as cleaning reads it (see ``as_read``).
    """

    __slots__ = ("segments",)

    def __init__(self) -> None:
        self.segments: list[dict[str, list] | SheetBlock] = []

    def _run(self) -> dict[str, list]:
        """The run of single cells to add to: the last segment, or a new one after a block."""
        if not self.segments or isinstance(self.segments[-1], SheetBlock):
            self.segments.append({name: [] for name in CELLS.columns})
        return self.segments[-1]

    def append(self, cell: dict) -> None:
        for name, column in self._run().items():
            column.append(cell[name])

    def extend(self, cells: list[tuple]) -> None:
        """Cells as tuples of the ``CELLS`` columns in their order."""
        if cells:
            for column, values in zip(self._run().values(), zip(*cells)):
                column.extend(values)

    def add_block(self, block: SheetBlock) -> None:
        self.segments.append(block)

    def blocks_only(self) -> bool:
        return all(isinstance(segment, SheetBlock) for segment in self.segments)

    def _values(self, name: str) -> list:
        k = CELLS.columns.index(name)
        values: list = []
        for segment in self.segments:
            values.extend(segment[name] if isinstance(segment, dict) else (cell[k] for cell in segment.cells()))
        return values

    def column(self, name: str) -> list:
        return as_read(self._values(name))

    def __len__(self) -> int:
        return sum(
            len(segment["source_ref"]) if isinstance(segment, dict) else sum(1 for _ in segment.cells())
            for segment in self.segments
        )

    def __iter__(self):
        names = CELLS.columns
        for segment in self.segments:
            cells = zip(*segment.values()) if isinstance(segment, dict) else segment.cells()
            yield from (dict(zip(names, values)) for values in cells)


@dataclass
class Extracted:
    source_id: str
    cells: Cells = field(default_factory=Cells)
    lists: dict[str, list[dict]] = field(default_factory=dict)
    rejects: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    total_rows: dict[str, int] = field(default_factory=dict)  # sheet → 0-based row of its TOTAL row

    def reject(self, ref: str, field_: str, raw: object, reason: str) -> None:
        self.rejects.append(reject_row(self.source_id, ref, raw, field_, reason))


def reject_row(source_id: str, ref: str, raw: object, field_: str, reason: str) -> dict:
    """A row of the rejects (``schema.REJECTS``): the cell's source and place, its raw value as typed, why."""
    return {"source_id": source_id, "source_ref": ref, "field": field_, "raw_value": raw_text(raw), "reason": reason}


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


def cell_text(value: object) -> str:
    """A cell's value as NFC text for matching headers and names (12.0 as 12)."""
    kind = type(value)
    if kind is str:
        return nfc(value)
    if kind is float:  # a float's own text is already NFC, one word
        return str(int(value)) if value.is_integer() else float.__repr__(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value))


_NUMBER_TEXTS: dict[float, str] = {}  # cell_text of the numbers met so far
NUMBER_TEXTS_KEPT = 1 << 16


def cell_texts(values: list) -> list[str]:
    """``cell_text`` of each value, the text of a number looked up once it was made (a form's rows
    hold the same few numbers again and again).

    >>> cell_texts([12.0, 0.5, None, " Bản Hòn", 12.0, float("nan")])
    ['12', '0.5', '', 'Bản Hòn', '12', 'nan']
    """
    known = _NUMBER_TEXTS.get
    return [(known(v) or _number_text(v)) if type(v) is float else cell_text(v) for v in values]


def _number_text(value: float) -> str:
    text = cell_text(value)
    if value == value:  # not NaN, which is never found again
        if len(_NUMBER_TEXTS) >= NUMBER_TEXTS_KEPT:
            _NUMBER_TEXTS.clear()
        _NUMBER_TEXTS[value] = text
    return text


def closest(name: str, candidates: list[str]) -> str:
    """``; closest: '…'`` naming the candidate most like ``name`` (ignoring case and marks), or ''."""
    folded = {fold(c): c for c in candidates if c}
    close = difflib.get_close_matches(fold(name), list(folded), n=1, cutoff=0.5)
    return f"; closest: {folded[close[0]]!r}" if close else ""


def listed(names: list[str], first: int = LISTED) -> str:
    """Names for a one-line message: the first few, then how many there are in all.

    >>> listed(["a", "b"]), listed([f"S{i}" for i in range(1000)], 3), listed([])
    ('a, b', 'S0, S1, S2, … (1,000 in all)', 'none')
    """
    if not names:
        return "none"
    if len(names) <= first:
        return ", ".join(names)
    return ", ".join(names[:first]) + f", … ({len(names):,} in all)"


def cells_frame(parts: list[Extracted]) -> pd.DataFrame:
    rows = [cell for part in parts for cell in part.cells]
    return pd.DataFrame(rows, columns=CELLS.columns)
