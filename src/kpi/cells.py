"""What a reader hands on: value cells with their place, list rows, rejects and problems.

Shared by the workbook reader (``kpi.extract``) and the CSV reader (``kpi.csvread``), and by
everything downstream that reads their output (cleaning, ``kpi check``, ingest).
"""

from __future__ import annotations

import difflib
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


class Cells:
    """The value cells a reader found, column by column (the columns of ``schema.CELLS``).

    Gathered as one list per column rather than a dict per cell; iterating gives the cells as
    dicts, ``column(name)`` a column as cleaning reads it (see ``as_read``).
    """

    __slots__ = ("columns",)

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in CELLS.columns}

    def append(self, cell: dict) -> None:
        for name, column in self.columns.items():
            column.append(cell[name])

    def extend(self, cells: list[tuple]) -> None:
        """Cells as tuples of the ``CELLS`` columns in their order."""
        for column, values in zip(self.columns.values(), zip(*cells)):
            column.extend(values)

    def column(self, name: str) -> list:
        return as_read(self.columns[name])

    def __len__(self) -> int:
        return len(self.columns["source_ref"])

    def __iter__(self):
        names = list(self.columns)
        return (dict(zip(names, values)) for values in zip(*self.columns.values()))


@dataclass
class Extracted:
    source_id: str
    cells: Cells = field(default_factory=Cells)
    lists: dict[str, list[dict]] = field(default_factory=dict)
    rejects: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    total_rows: dict[str, int] = field(default_factory=dict)  # sheet → 0-based row of its TOTAL row

    def reject(self, ref: str, field_: str, raw: object, reason: str) -> None:
        self.rejects.append(
            {
                "source_id": self.source_id,
                "source_ref": ref,
                "field": field_,
                "raw_value": raw_text(raw),
                "reason": reason,
            }
        )


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
