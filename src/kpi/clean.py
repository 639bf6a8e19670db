"""Clean extracted cells into observations: numbers, names, units, statuses.

Every cell either becomes an observation or goes to the rejects with its place, its raw
value and the reason; a cell marked missing (``-``, empty) is counted, not kept.

Beyond the number rules of ``kpi.text``: a date where a number belongs (Excel turns ``15.5``
or ``15/5`` into one) and scientific notation (``1e20``) are refused with their own reason;
a unit written in the cell must be the column's unit itself, not merely one convertible to
it (``150 tạ`` in a ``tấn`` column is refused, never read as 150 t); and two values for one
key (indicator, area, year, source) -- a commune listed twice, or under its old and new
name -- are both rejected, each naming the other cell, never one kept at random.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpi import blocks, reference
from kpi.cellrules import clean_value, lookups, parse_year, year_reason
from kpi.cells import Cells, reject_row
from kpi.layouts import Layout
from kpi.schema import CELLS, OBSERVATIONS, REJECTS
from kpi.text import fold, nfc, parse_number

MADE = ("indicator", "area_code", "area_name", "year", "value", "unit", "status", "note", "base_year")
FROM_CELL = {"source_id": "source_id", "source_ref": "source_ref", "_raw": "raw_value", "_area_raw": "area_raw"}
EXTRA = ("base_year", "_raw", "_area_raw")  # besides the observation: its base year, what a duplicate names
COLUMNS = OBSERVATIONS.columns + list(EXTRA)
KEPT = OBSERVATIONS.columns + ["base_year"]  # what a cleaned file keeps once its duplicates are out
TEXT = [f.name for f in OBSERVATIONS.fields if f.dtype == "string"]
TYPES = {"year": "int64", "value": "float64"}


@dataclass
class Cleaned:
    """One file's observations as columns (``KEPT``, arrays: ``as_arrays``), its rejects and its missing cells.

    The rejects are kept as rows, made a table only when asked for: most files have none, and an
    empty table costs 0.16 ms to make (88 of them, for a province, as long as reading two files).

    The columns are joined over all files into one frame by ``observations_frame``; a single
    file's frames are built when asked for (``kpi check``, tests).
    """

    columns: dict[str, object]  # lists, or arrays (``as_arrays``)
    reject_rows: list[dict]  # of the ``REJECTS`` columns
    missing: int

    @property
    def rejects(self) -> pd.DataFrame:
        return pd.DataFrame(self.reject_rows, columns=REJECTS.columns)

    @functools.cached_property
    def _frames(self) -> tuple[pd.DataFrame, pd.Series]:
        return observations_frame([self])

    @property
    def observations(self) -> pd.DataFrame:
        return self._frames[0]

    @property
    def base_years(self) -> pd.Series:
        return self._frames[1]


def observations_frame(parts: list[Cleaned]) -> tuple[pd.DataFrame, pd.Series]:
    """The observations of cleaned files as one frame, and the base year of each row (of increases).

    Text columns are pandas' Arrow text where every file's is (``as_arrays``), else typed as
    pandas infers them from the values.
    """
    if not any(len(part.columns["source_ref"]) for part in parts):
        frame = pd.DataFrame([], columns=KEPT).astype(TYPES)
    else:
        frame = pd.DataFrame({name: _joined([part.columns[name] for part in parts]) for name in KEPT}).astype(TYPES)
    return frame[OBSERVATIONS.columns], frame["base_year"]


def _joined(columns: list) -> pd.Series:
    """One column of several files: Arrow text or numbers joined as they are, anything else as objects."""
    import pyarrow as pa

    if all(isinstance(c, pa.Array) for c in columns):
        return pd.Series(pa.chunked_array(columns, pa.large_string()), dtype="str")  # each file a chunk
    if all(isinstance(c, np.ndarray) for c in columns):
        return pd.Series(np.concatenate(columns))
    return pd.Series([v for c in columns for v in (c.to_pylist() if isinstance(c, pa.Array) else c)])


def as_arrays(columns: dict[str, list]) -> dict[str, object]:
    """A file's observation columns (``KEPT``) as the ingest will hold them: text as Arrow text (a
    reading process sends it back as its buffers, not as a Python string per value), years and
    values as numbers; a column of any other values stays a list.

    >>> cols = as_arrays({"indicator": ["a", None], "year": [2012, 2022], "value": [1, 2.5], "note": ["", 3]})
    >>> [type(c).__name__ for c in cols.values()]
    ['LargeStringArray', 'ndarray', 'ndarray', 'list']
    """
    import pyarrow as pa

    arrays: dict[str, object] = {}
    for name, values in columns.items():
        kind = TYPES.get(name)
        try:
            if name in TEXT:
                arrays[name] = pa.array(values, pa.large_string())
            elif kind is not None:
                arrays[name] = np.array(values, dtype=kind)
            else:
                arrays[name] = values
        except (pa.ArrowTypeError, pa.ArrowInvalid, TypeError, ValueError):  # not all text, or not all numbers
            arrays[name] = values
    return arrays


def duplicate_reason(row: dict, others: list[dict]) -> str:
    """Why a value whose key another value of the same source also has is rejected, naming both cells."""
    what = f"two values of {row['indicator']} for {row['year']}"
    own = nfc(str(row["_area_raw"]))
    places = "; ".join(
        f"{o['source_ref']} ({own!r} is listed twice)"
        if fold(str(o["_area_raw"])) == fold(own)
        else (
            f"{o['source_ref']} ({nfc(str(o['_area_raw']))!r} and {own!r} are the same area, "
            f"{row['area_name']} {row['area_code']})"
        )
        for o in others
    )
    return f"{what}, also in {places}: keep one of the rows"


def _distinct(values: list, rule: Callable) -> list:
    """``rule`` applied once per distinct value (keyed with its type, so 1, 1.0 and True stay apart;
    values all of one type, as a column mostly is, are their own keys)."""
    if len(set(map(type, values))) <= 1:
        table = {v: rule(v) for v in dict.fromkeys(values)}
        return list(map(table.__getitem__, values))
    keys = [(type(v), v) for v in values]
    table = {k: rule(k[1]) for k in dict.fromkeys(keys)}
    return list(map(table.__getitem__, keys))


class _Rows:
    """The observations and rejects of one table of cells, gathered column by column."""

    def __init__(self, cells: pd.DataFrame | Cells):
        if isinstance(cells, Cells):
            self.col = {name: cells.column(name) for name in CELLS.columns}
        else:
            n = len(cells)
            self.col = {name: cells[name].tolist() if name in cells else [None] * n for name in CELLS.columns}
        self.out: list[tuple] = []  # (cell, *MADE): the rest of an observation is its cell's
        self.rejects: list[dict] = []

    def reject(self, i: int, field_: str, reason: str) -> None:
        col = self.col
        self.rejects.append(reject_row(col["source_id"][i], col["source_ref"][i], col["raw_value"][i], field_, reason))

    def columns(self) -> dict[str, list]:
        """The observations made, one list per column of ``COLUMNS``."""
        if not self.out:
            return {name: [] for name in COLUMNS}
        made = dict(zip(("cell",) + MADE, map(list, zip(*self.out))))
        cells = made.pop("cell")
        pick = operator.itemgetter(*cells) if len(cells) > 1 else lambda values: (values[cells[0]],)
        data = {**made, **{name: list(pick(self.col[field])) for name, field in FROM_CELL.items()}}
        return {name: data[name] for name in COLUMNS}


def _clean_rows(rows: _Rows, units: dict[str, str]) -> int:
    """Every cell through the rules of ``kpi.cellrules`` in their order, each rule once per
    distinct value (year, indicator, base year, number text, column and area); returns the
    cells marked missing."""
    col = rows.col
    indicators = _distinct(col["indicator"], lambda v: nfc(str(v or "")))
    years = _distinct(col["year_raw"], parse_year)
    bases = _distinct(col["base_year"], lambda b: parse_year(b) if b not in (None, "") else None)
    area_raws = _distinct(col["area_raw"], str)
    unit_raws = _distinct(col["unit_raw"], lambda u: str(u or ""))
    columns, areas = lookups()
    out, missing = rows.out, 0
    for i, raw in enumerate(col["raw_value"]):
        year = years[i]
        if year is None:
            rows.reject(i, "year", year_reason(col["year_raw"][i]))
            continue
        cell = (unit_raws[i], area_raws[i], bases[i], col["base_year"][i], col["status"][i], col["note"][i])
        made = clean_value(raw, indicators[i], year, cell, units, columns, areas)
        if made is None:
            missing += 1
        elif type(made) is tuple:
            rows.reject(i, *made)
        else:
            out.extend((i, *row) for row in made)
    return missing


def _split_duplicates(columns: dict[str, list]) -> tuple[dict[str, list], list[dict]]:
    """Rows sharing a key (indicator, area, year, source) are all rejected, each naming the others:
    which of two typed values is right cannot be known, so neither is kept silently."""
    keys = list(zip(*(columns[k] for k in OBSERVATIONS.key)))
    if len(set(keys)) == len(keys):  # no key twice (a set is quicker to build than the groups)
        return columns, []
    groups: dict[tuple, list[int]] = defaultdict(list)
    for j, key in enumerate(keys):
        groups[key].append(j)
    twice = sorted(j for rows in groups.values() if len(rows) > 1 for j in rows)
    if not twice:
        return columns, []
    names = list(columns)
    row = {j: dict(zip(names, (columns[n][j] for n in names))) for j in twice}
    rejects = [
        reject_row(
            row[j]["source_id"],
            row[j]["source_ref"],
            row[j]["_raw"],
            "area",
            duplicate_reason(row[j], [row[o] for o in groups[tuple(row[j][k] for k in OBSERVATIONS.key)] if o != j]),
        )
        for j in twice
    ]
    kept = set(range(len(columns["source_ref"]))) - set(twice)
    order = sorted(kept)
    return {name: [values[j] for j in order] for name, values in columns.items()}, rejects


def clean_cells(cells: pd.DataFrame | Cells) -> Cleaned:
    """Clean every extracted cell; rejects keep the place, the raw value and the reason."""
    units = reference.indicator_units()
    done = blocks.cleaned(cells.segments, units) if isinstance(cells, Cells) and cells.blocks_only() else None
    if done is None:  # cells one by one
        rows = _Rows(cells)
        missing = _clean_rows(rows, units)
        out, rejects = rows.columns(), rows.rejects
    else:
        made, rejects, missing = done
        names = (*MADE, *FROM_CELL)
        data = dict(zip(names, map(list, zip(*made)))) if made else {name: [] for name in names}
        out = {name: data[name] for name in COLUMNS}
    columns, duplicates = _split_duplicates(out)
    return Cleaned(as_arrays({name: columns[name] for name in KEPT}), rejects + duplicates, missing)


def clean_list(table: list[dict], spec: Layout) -> tuple[pd.DataFrame, list[dict]]:
    """Clean one list table: areas to codes (``;`` separates several), numbers parsed, years checked;
    a line repeating an earlier one exactly is rejected (it would be counted twice)."""
    gaz = reference.gazetteer()
    numbers = spec.numbers
    rows, rejects, seen = [], [], {}
    for row in table:
        out, bad = dict(row), []
        content = tuple(sorted((k, v) for k, v in row.items() if k != "source_ref"))
        if content in seen:  # a thing typed twice would be counted twice
            rejects.append(
                {
                    "source_id": row["source_id"],
                    "source_ref": row["source_ref"],
                    "field": "line",
                    "raw_value": "",
                    "reason": f"repeats {seen[content]} exactly: a thing listed twice "
                    "would be counted twice; delete one of the lines",
                }
            )
            continue
        seen[content] = row["source_ref"]
        year = parse_year(row.get("year", ""))
        if year is None:
            bad.append(("year", row.get("year", ""), f"year {row.get('year', '')!r} is not a year"))
        out["year"] = year
        codes = []
        for name in filter(None, (part.strip() for part in row.get("area", "").split(";"))):
            try:
                codes.append(gaz.match(name, year).code)
            except KeyError as exc:
                bad.append(("area", name, exc.args[0]))
        out["area_codes"] = ";".join(codes)
        for role, unit_role in numbers.items():
            parsed = parse_number(row.get(role, ""))
            if parsed.error or parsed.ambiguous:
                bad.append((role, row.get(role, ""), parsed.error or f"{row.get(role)!r} is ambiguous"))
            out[role] = parsed.value
            unit_text = row.get(unit_role, "") if unit_role in row else unit_role
            if parsed.value is not None and unit_role is not None and reference.unit_of(unit_text) is None:
                bad.append((role, unit_text, f"unit {unit_text!r} is not in the unit table (units.csv)"))
        if bad:
            rejects.extend(
                {
                    "source_id": row["source_id"],
                    "source_ref": row["source_ref"],
                    "field": f,
                    "raw_value": str(v),
                    "reason": r,
                }
                for f, v, r in bad
            )
            continue
        rows.append(out)
    return pd.DataFrame(rows), rejects
