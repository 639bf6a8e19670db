"""Clean extracted cells into observations: numbers, names, units, statuses.

Every cell either becomes an observation or goes to the rejects with its place, its raw
value and the reason; a cell marked missing (``-``, empty) is counted, not kept.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kpi import reference
from kpi.errors import UnitMismatch
from kpi.extract import REJECT_COLUMNS
from kpi.text import nfc, parse_number

OBS_COLUMNS = ["indicator", "area_code", "area_name", "year", "value", "unit", "status",
               "source_id", "source_ref", "note"]
KEY = ["indicator", "area_code", "year", "source_id"]
MIN_YEAR, MAX_YEAR = 1900, 2100          # plausible reference years
MAX_MAGNITUDE = 1e12                     # above any district or national figure in these units
RANGE_SUFFIXES = ("_min", "_max")        # a printed range "160-320" feeds <id>_min and <id>_max


@dataclass
class Cleaned:
    observations: pd.DataFrame
    rejects: pd.DataFrame
    missing: int
    base_years: pd.Series  # base year of each increase row (index aligned with observations)


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


def _unknown_indicator(indicator: str, cat: pd.DataFrame) -> str:
    close = difflib.get_close_matches(indicator, list(cat.index), n=1, cutoff=0.6)
    hint = f"; closest: {close[0]!r}" if close else ""
    return f"unknown indicator {indicator!r} (not in indicators.csv){hint}"


def clean_cell(cell: dict, cat: pd.DataFrame, gaz: reference.Gazetteer, ref_dir: Path | None = None
               ) -> tuple[list[dict], str | None, str]:
    """Clean one extracted cell; returns (observations, reason it was rejected, field)."""
    indicator = nfc(str(cell["indicator"] or ""))
    year = parse_year(cell["year_raw"])
    if year is None:
        return [], f"year {cell['year_raw']!r} is not a year between {MIN_YEAR} and {MAX_YEAR}", "year"
    parsed = parse_number(cell["raw_value"])
    if parsed.error:
        expected = cat.loc[indicator, "unit"] if indicator in cat.index else ""
        return [], parsed.error + (f"; expected a number in {expected}" if expected else ""), "value"
    if parsed.missing:
        return [], None, "missing"
    if parsed.ambiguous:
        return [], (f"{cell['raw_value']!r} is ambiguous: read the Vietnamese way it is "
                    f"{parsed.value:g} (comma = decimal mark), but it may mean thousands; write "
                    "1.947 for one thousand nine hundred forty-seven or 1,947 with more decimals"), "value"
    targets = [indicator]
    if parsed.high is not None:
        targets = [indicator + s for s in RANGE_SUFFIXES]
        if not all(t in cat.index for t in targets):
            return [], f"a range ({cell['raw_value']!r}) is not allowed for indicator {indicator!r}", "value"
    elif indicator not in cat.index:
        return [], _unknown_indicator(indicator, cat), "indicator"
    try:
        area = gaz.match(str(cell["area_raw"]), year)
    except KeyError as exc:
        return [], exc.args[0], "area"
    column_unit = nfc(str(cell["unit_raw"] or ""))
    cell_unit = parsed.unit_text
    unit_text = column_unit or cell_unit
    if not unit_text:
        return [], f"no unit: expected {cat.loc[targets[0], 'unit']}", "unit"
    if reference.unit_of(unit_text, ref_dir) is None:
        return [], f"unit {unit_text!r} is not in the unit table (units.csv)", "unit"
    if column_unit and cell_unit and reference.unit_of(cell_unit, ref_dir) != reference.unit_of(column_unit, ref_dir):
        return [], f"the cell says {cell_unit!r} but the column's unit is {column_unit!r}", "unit"
    out = []
    values = [parsed.value] if parsed.high is None else [parsed.value, parsed.high]
    for target, value in zip(targets, values):
        unit = cat.loc[target, "unit"]
        try:
            value = value * reference.conversion_factor(unit_text, unit, ref_dir)
        except UnitMismatch as exc:
            return [], str(exc), "unit"
        if abs(value) > MAX_MAGNITUDE:
            return [], f"{value:g} {unit} is an implausible magnitude (above {MAX_MAGNITUDE:g})", "value"
        if value < 0 and not target.endswith(".increase"):
            return [], f"negative value {value:g} {unit}: expected a count or amount ≥ 0", "value"
        if unit == "%" and value > 100:
            return [], f"share {value:g} % is above 100 %", "value"
        out.append({
            "indicator": target, "area_code": area.code, "area_name": area.name, "year": year,
            "value": value, "unit": unit, "status": parsed.status or cell.get("status") or "reported",
            "source_id": cell["source_id"], "source_ref": cell["source_ref"], "note": nfc(str(cell["note"] or "")),
            "base_year": parse_year(cell["base_year"]) if cell.get("base_year") not in (None, "") else None,
        })
    if target.endswith(".increase") and out[0]["base_year"] is None:
        return [], f"an increase needs the year it is measured from (got {cell.get('base_year')!r})", "base_year"
    return out, None, ""


def clean_cells(cells: pd.DataFrame, ref_dir: Path | None = None) -> Cleaned:
    """Clean every extracted cell; rejects keep the place, the raw value and the reason."""
    cat = reference.catalogue(ref_dir)
    gaz = reference.gazetteer(ref_dir)
    rows, rejects, missing = [], [], 0
    for cell in cells.to_dict("records"):
        out, reason, field_ = clean_cell(cell, cat, gaz, ref_dir)
        if field_ == "missing":
            missing += 1
        elif reason:
            rejects.append({"source_id": cell["source_id"], "source_ref": cell["source_ref"], "field": field_,
                            "raw_value": raw_text(cell["raw_value"]), "reason": reason})
        rows.extend(out)
    frame = pd.DataFrame(rows, columns=OBS_COLUMNS + ["base_year"])
    frame = frame.astype({"year": "int64", "value": "float64"})
    return Cleaned(frame[OBS_COLUMNS], pd.DataFrame(rejects, columns=REJECT_COLUMNS), missing,
                   frame["base_year"])


def clean_list(table: list[dict], spec: dict, ref_dir: Path | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Clean one list table: areas to codes (``;`` separates several), numbers parsed, years checked."""
    gaz = reference.gazetteer(ref_dir)
    numbers = spec.get("numbers", {})
    rows, rejects = [], []
    for row in table:
        out, bad = dict(row), []
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
            if parsed.value is not None and unit_role is not None and reference.unit_of(unit_text, ref_dir) is None:
                bad.append((role, unit_text, f"unit {unit_text!r} is not in the unit table (units.csv)"))
        if bad:
            rejects.extend({"source_id": row["source_id"], "source_ref": row["source_ref"], "field": f,
                            "raw_value": str(v), "reason": r} for f, v, r in bad)
            continue
        rows.append(out)
    return pd.DataFrame(rows), rejects
