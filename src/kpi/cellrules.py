"""The rules one value cell is cleaned by: its year, its number text, where it goes (indicator,
area, unit) and the range of its value, each with the reason a person is given.

``kpi.clean`` applies them to whole tables of cells, each rule once per distinct value, in the
order that decides which reason a cell gets: year, value, indicator, area, unit, range.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from dataclasses import dataclass, replace

import pandas as pd

from kpi import reference
from kpi.cells import raw_text
from kpi.config import MAX_YEAR, MIN_YEAR
from kpi.errors import UnitMismatch
from kpi.schema import MAX_MAGNITUDE
from kpi.text import ParsedNumber, fold, format_number, nfc, parse_number

RANGE_SUFFIXES = ("_min", "_max")  # a printed range "160-320" feeds <id>_min and <id>_max
SCIENTIFIC = re.compile(r"^\s*[+-]?\d+(?:[.,]\d+)?\s*[eE]\s*[+-]?\d+\s*$")  # 1e20, 1,5E+3
NOT_AVAILABLE = frozenset({"n/a", "na", "n.a.", "#n/a", "nan", "null", "none"})  # folded words for "no figure"


RANGE_SUFFIXES = ("_min", "_max")  # a printed range "160-320" feeds <id>_min and <id>_max


SCIENTIFIC = re.compile(r"^\s*[+-]?\d+(?:[.,]\d+)?\s*[eE]\s*[+-]?\d+\s*$")  # 1e20, 1,5E+3


NOT_AVAILABLE = frozenset({"n/a", "na", "n.a.", "#n/a", "nan", "null", "none"})  # folded words for "no figure"


def parse_year(raw: object) -> int | None:
    """A year from a cell or CSV text; None when it is not a plausible integer year.

    >>> parse_year("2022"), parse_year(2022.0), parse_year("năm 2022"), parse_year("22")
    (2022, 2022, None, None)
    """
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, float):
        if not raw.is_integer():
            return None
        raw = int(raw)
    text = str(raw).strip()
    if not text.isdigit():
        return None
    year = int(text)
    return year if MIN_YEAR <= year <= MAX_YEAR else None


def value_type_problem(raw: object, expected: str) -> str | None:
    """Cell contents that are not number text at all, with what to do: dates, scientific notation.

    >>> value_type_problem(dt.date(2022, 5, 15), "ha")[:58]
    'a date (2022-05-15) where a number in ha belongs: Excel tu'
    >>> value_type_problem("1e20", "t")
    "'1e20' is in scientific notation, which is not accepted: type the number in full, in t"
    """
    if isinstance(raw, (dt.date, dt.time, dt.timedelta)):  # dt.datetime is a dt.date
        return (
            f"a date ({raw_text(raw)}) where a number in {expected or 'the column unit'} belongs: Excel turns "
            "'15.5' or '15/5' into a date; format the cell as Text and type the figure again"
        )
    if isinstance(raw, str) and SCIENTIFIC.match(raw):
        return f"{raw!r} is in scientific notation, which is not accepted: type the number in full" + (
            f", in {expected}" if expected else ""
        )
    return None


def _number_problem(raw: object, error: str, expected: str) -> str:
    """The parser's reason, with the unit expected and, for "n/a" and the like, how to say "no figure"."""
    reason = error + (f"; expected a number in {expected}" if expected else "")
    if isinstance(raw, str) and fold(raw) in NOT_AVAILABLE:
        reason += " (leave the cell empty or type '-' when there is no figure)"
    return reason


def ambiguous_reason(raw: str) -> str:
    """Why ``1,947`` is refused, with both ways to write what was meant (see ``kpi.text``).

    >>> ambiguous_reason("1,947").split("; ")[1]
    'write 1.947 for 1947, or 1,9470 for the decimal number'
    """
    text = raw.strip()
    if re.fullmatch(r"\d{1,3},\d{3}", text):
        thousands = text.replace(",", "")
        return (
            f"{raw!r} is ambiguous: the comma may be the decimal mark (the Vietnamese way) or group thousands "
            f"(the English way, {thousands}); write {format_number(float(thousands))} for {thousands}, or "
            f"{text}0 for the decimal number"
        )
    return (
        f"{raw!r} is ambiguous: a comma followed by exactly three digits may be the decimal mark (the "
        "Vietnamese way) or group thousands (the English way); write thousands with a dot (1.947) and give "
        "decimals other than three digits (1,9470)"
    )


def same_unit(cell_unit: str, column_unit: str) -> bool:
    """True when two units as written are one unit (``tấn`` and ``t``), not merely convertible (``tạ``).

    >>> same_unit("tấn", "t"), same_unit("tạ", "tấn"), same_unit("ha", "bể")
    (True, False, False)
    """
    code = reference.unit_of(column_unit)
    if code is None or reference.unit_of(cell_unit) != code:
        return False
    factor = reference.conversion_factor
    return factor(cell_unit, code) == factor(column_unit, code)


def _unknown_indicator(indicator: str, cat: pd.DataFrame) -> str:
    close = difflib.get_close_matches(indicator, list(cat.index), n=1, cutoff=0.6)
    hint = f"; closest: {close[0]!r}" if close else ""
    return f"unknown indicator {indicator!r} (not in indicators.csv){hint}"


def _read_value(raw: object, expected: str) -> ParsedNumber:
    """What a cell's raw value says before its context; ``error`` is the reason given to the user."""
    problem = value_type_problem(raw, expected)
    if problem:
        return ParsedNumber(error=problem)
    parsed = parse_number(raw)
    if parsed.error:
        return replace(parsed, error=_number_problem(raw, parsed.error, expected))
    if parsed.ambiguous:
        return ParsedNumber(error=ambiguous_reason(str(raw)))
    return parsed


_read_text_value = functools.lru_cache(maxsize=1 << 16)(_read_value)  # office tables repeat their texts


def read_value(raw: object, expected: str) -> ParsedNumber:
    """``_read_value`` with a fast path for plain numbers and a cache for texts (the hot loop of ingest)."""
    if type(raw) is float or type(raw) is int:
        value = float(raw)
        if value != value:  # NaN: an empty numeric cell
            return ParsedNumber()
        if value in (float("inf"), float("-inf")):
            return _read_value(raw, expected)
        return ParsedNumber(value=value)
    if isinstance(raw, str):
        return _read_text_value(raw, expected)
    return _read_value(raw, expected)


@dataclass(frozen=True)
class _Context:
    """Where a value goes: its indicator(s), area and unit factors -- the same for a whole column or row."""

    targets: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    factors: tuple[float, ...] = ()
    area_code: str = ""
    area_name: str = ""
    reason: str | None = None
    field: str = ""


@reference.per_folder(1 << 12)
def _column_context(
    indicator: str, unit_raw: str, cell_unit: str, is_range: bool, raw_for_message: str
) -> tuple[_Context, _Context | None]:
    """What depends on the indicator and units only: (targets and factors, or the reason), and
    separately a unit problem (reported after an area problem, in the order of the checks)."""
    cat = reference.catalogue()
    targets = (indicator,)
    if is_range:
        targets = tuple(indicator + s for s in RANGE_SUFFIXES)
        if not all(t in cat.index for t in targets):
            return _Context(
                reason=f"a range ({raw_for_message!r}) is not allowed for indicator {indicator!r}", field="value"
            ), None
    elif indicator not in cat.index:
        return _Context(reason=_unknown_indicator(indicator, cat), field="indicator"), None
    column_unit = nfc(unit_raw)
    unit_text = column_unit or cell_unit
    if not unit_text:
        return _Context(targets), _Context(reason=f"no unit: expected {cat.loc[targets[0], 'unit']}", field="unit")
    if reference.unit_of(unit_text) is None:
        return _Context(targets), _Context(
            reason=f"unit {unit_text!r} is not in the unit table (units.csv)", field="unit"
        )
    if column_unit and cell_unit and not same_unit(cell_unit, column_unit):
        return _Context(targets), _Context(
            reason=f"the cell says {cell_unit!r} but the column's unit is {column_unit!r}", field="unit"
        )
    units = tuple(cat.loc[t, "unit"] for t in targets)
    try:
        factors = tuple(reference.conversion_factor(unit_text, u) for u in units)
    except UnitMismatch as exc:
        return _Context(targets), _Context(reason=str(exc), field="unit")
    return _Context(targets, units, factors), None


@reference.per_folder(1 << 16)
def _area(area_raw: str, year: int) -> tuple[str, str, str | None]:
    """(code, official name, reason) of an area as written, for the year's units."""
    try:
        match = reference.gazetteer().match(area_raw, year)
    except KeyError as exc:
        return "", "", exc.args[0]
    return match.code, match.name, None


def checked_values(column: _Context, values: tuple) -> tuple[list[float], tuple[str, str] | None]:
    """The values in their catalogue units, or the (reason, field) of the first one out of range."""
    out = []
    for target, unit, factor, printed in zip(column.targets, column.units, column.factors, values):
        value = printed if factor == 1 else float(f"{printed * factor:.12g}")  # 51,4 tạ/ha is 5.14 t/ha, no float noise
        if abs(value) > MAX_MAGNITUDE:
            return out, (f"{value:g} {unit} is an implausible magnitude (above {MAX_MAGNITUDE:g})", "value")
        if value < 0 and not target.endswith(".increase"):
            return out, (f"negative value {value:g} {unit}: expected a count or amount ≥ 0", "value")
        if unit == "%" and value > 100:
            return out, (f"share {value:g} % is above 100 %", "value")
        out.append(value)
    return out, None


_INF = float("inf")


LOOKUPS_KEPT = 1 << 16  # column keys, and (area, year) pairs, remembered from one file to the next


def lookups() -> tuple[dict[tuple, tuple], dict[tuple, tuple]]:
    """What each column key (``column_of``) and each (area as written, year) (``_area``) gave,
    kept for every file a process cleans with the same reference tables, not worked out again
    for each file (each lookup of a cache kept per reference folder asks the environment); each
    forgotten once it holds ``LOOKUPS_KEPT`` (names typed in ever new ways would grow it)."""
    columns, areas = _lookups()
    for kept in (columns, areas):
        if len(kept) >= LOOKUPS_KEPT:
            kept.clear()
    return columns, areas


@reference.per_folder(4)
def _lookups() -> tuple[dict[tuple, tuple], dict[tuple, tuple]]:
    return {}, {}


def year_reason(year_read: object) -> str:
    """Why a cell whose year (its column's, sheet's or row's, as read) is not one is refused."""
    return f"year {year_read!r} is not a year between {MIN_YEAR} and {MAX_YEAR}"


def column_of(*key) -> tuple:
    """``_column_context`` of a key, the largest value its cells take as printed (-1 when a
    value must go through ``checked_values``: a factor, a range, an increase), and whether its
    cells are increases (which need the year they are measured from)."""
    column, unit_problem = _column_context(*key)
    simple = len(column.factors) == 1 and column.factors[0] == 1 and not column.targets[0].endswith(".increase")
    limit = -1.0 if not simple else 100.0 if column.units[0] == "%" else MAX_MAGNITUDE
    return column, unit_problem, limit, bool(column.targets) and column.targets[-1].endswith(".increase")


def clean_value(
    raw: object,
    indicator: str,
    year: int,
    cell: tuple,
    units: dict[str, str],
    columns: dict[tuple, tuple],
    areas: dict[tuple, tuple],
) -> list[tuple] | tuple[str, str] | None:
    """One cell of a known year through the rules after its year, in the order that decides its
    reason: value, indicator, area, unit, range, base year.

    ``cell``: its (unit as written, area as written, base year, base year as read, status, note).
    ``columns`` and ``areas`` keep what each column key and (area, year) gave, for the next cells.
    Returns the rows it gives (target, area code, area name, year, value, unit, status, note, base
    year; two for a range), or (field, reason) when it is refused, or None when it is marked missing.
    """
    unit_raw, area_raw, base, base_read, status_cell, note = cell
    if type(raw) is float and -_INF < raw < _INF:  # a plain number (not NaN): what read_value gives it
        value, high, status, unit_text = raw, None, None, ""
    else:
        read = read_value(raw, units.get(indicator, ""))  # texts once each
        if read.error:
            return ("value", read.error)
        if read.missing:
            return None
        value, high, status, unit_text = read.value, read.high, read.status, read.unit_text
    key = (indicator, unit_raw, unit_text, high is not None, str(raw) if high is not None else "")
    if key not in columns:
        columns[key] = column_of(*key)
    column, unit_problem, limit, increase = columns[key]
    if column.reason:
        return (column.field, column.reason)
    place = (area_raw, year)
    if place not in areas:
        areas[place] = _area(*place)
    code, name, reason = areas[place]
    if reason:
        return ("area", reason)
    if unit_problem:
        return (unit_problem.field, unit_problem.reason)
    if high is None and 0 <= value <= limit:  # within range as printed: nothing to convert or refuse
        values = (value,)
    else:
        values, bad = checked_values(column, (value,) if high is None else (value, high))
        if bad:
            return (bad[1], bad[0])
    if base is None and increase:
        return ("base_year", f"an increase needs the year it is measured from (got {base_read!r})")
    status = status or status_cell or "reported"
    note = note or ""
    return [(t, code, name, year, v, u, status, note, base) for t, u, v in zip(column.targets, column.units, values)]
