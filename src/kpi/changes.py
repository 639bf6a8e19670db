"""Two-period comparison: baseline and target values, change, % change and CAGR per indicator.

Statuses of both ends are carried.  A missing baseline (or target) is reported as
missing: it is never replaced by the value of another year.

>>> obs = pd.DataFrame({"indicator": "crops.food_grain_output", "area_code": "106", "area_name": "Huyện Tam Đường",
...     "year": [2012, 2022], "value": [37015.0, 41100.0], "unit": "t", "status": ["derived", "reported"],
...     "source_id": "s", "source_ref": ["a − b", "a"]})
>>> row = compare(obs, 2012, 2022).iloc[0]
>>> float(row["change_abs"]), round(float(row["change_pct"]), 2), round(float(row["cagr_pct"]), 3)
(4085.0, 11.04, 1.052)
>>> row["baseline_status"]
'derived'
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kpi.columns import per_distinct
from kpi.errors import KpiError, UnitMismatch
from kpi.schema import CHANGES

SKIP_SUFFIXES = (".increase", ".printed")  # printed increases and printed shares are inputs, not series


def _skipped(indicators: pd.Series) -> pd.Series:
    return indicators.str.endswith(SKIP_SUFFIXES)


def cagr(start: float, end: float, years: int) -> float:
    """Compound annual growth rate in % (NaN when not defined: non-positive ends or no years).

    >>> round(cagr(100, 121, 2), 6), math.isnan(cagr(0, 5, 3))
    (10.0, True)
    """
    if years <= 0 or start <= 0 or end <= 0:
        return math.nan
    return ((end / start) ** (1 / years) - 1) * 100


def _refuse_two_areas_under_one_code(obs: pd.DataFrame, rows: np.ndarray, baseline: int, target: int) -> None:
    """03390 is Thị trấn Tam Đường up to 2024 and Xã Bình Lư from 2025: never one area's change.

    Rows re-aggregated to the new units (``kpi.reorg.series_in_new_units``) carry the new name
    and pass; the old unit's own rows compared with the new unit's do not.
    """
    from kpi import reference

    if reference.era_of_year(baseline) == reference.era_of_year(target):
        return
    table = obs.iloc[rows]
    gaz = reference.gazetteer()
    for code in sorted(reference.reused_codes() & set(table["area_code"])):
        old = table[(table["area_code"] == code) & (table["year"] == baseline)]
        new_name = gaz.name(code, target)
        if len(old) and (old["area_name"] != new_name).any() and (table["year"] == target).any():
            raise KpiError(
                f"area {code} is {gaz.name(code, baseline)} in {baseline} and {new_name} in {target}: "
                "two areas under one code; compare the series re-aggregated to the 2025 units "
                "(kpi.reorg.series_in_new_units(obs)) instead"
            )


def compare(
    obs: pd.DataFrame, baseline: int, target: int, area: str | None = None, priority: dict[str, int] | None = None
) -> pd.DataFrame:
    """Compare ``baseline`` and ``target`` years for every indicator (and area) with a value in either.

    ``obs`` may hold several sources: one value per cell is chosen with ``kpi.sources.pick``
    (by the sources' declared priorities unless ``priority`` is given).  Both years must have
    data and ``area`` (a code; ``106`` or ``3413`` as numbers too) must be in ``obs``: else
    KpiError naming what exists.

    Columns: indicator, area_code, area_name, unit, baseline_year, baseline_value,
    baseline_status, baseline_source, baseline_ref, target_year, target_value, target_status,
    target_source, target_ref, change_abs, change_pct, cagr_pct (average yearly growth, %),
    complete (both years known), baseline_note, target_note.  A missing end is NaN with
    status ``missing``; it is never filled from another year.
    """
    from kpi.api import check_years, year_of
    from kpi.sources import CELL, chosen_rows

    baseline, target = year_of(baseline), year_of(target)
    if baseline >= target:
        raise KpiError(f"baseline {baseline} must come before target {target}")
    check_years(obs, baseline, target)
    wanted = obs["year"].isin([baseline, target]) & ~per_distinct(obs["indicator"], _skipped)
    wanted = wanted.to_numpy(dtype=bool, na_value=False)  # a missing indicator is no row of either year
    rows = _of_area(obs, wanted, area, baseline, target)
    if not len(rows):
        return pd.DataFrame(columns=CHANGES.columns)
    _refuse_two_areas_under_one_code(obs, rows, baseline, target)
    if priority is None and obs[CELL].iloc[rows].duplicated().any():
        from kpi.api import load_priorities

        priority = load_priorities()
    chosen = chosen_rows(obs, priority or {}, rows)  # in the order of indicator, area and year
    ends = _ends(obs.reset_index(drop=True), chosen, baseline)
    b, t = ends["unit_b"], ends["unit_t"]
    clash = np.flatnonzero((b.notna() & t.notna() & (b != t)).to_numpy(dtype=bool))
    if len(clash):
        i = clash[0]
        where = f"{ends['indicator'].iloc[i]} {ends['area_code'].iloc[i]}"
        raise UnitMismatch(f"{where}: baseline in {b.iloc[i]} but target in {t.iloc[i]}")
    return _table(ends, baseline, target)


ENDS = ["value", "status", "source_id", "source_ref", "unit", "area_name", "note"]  # of each end, suffixed _b and _t


def _ends(obs: pd.DataFrame, chosen: np.ndarray, baseline: int) -> dict[str, pd.Series]:
    """One row per indicator and area of the ``chosen`` rows (positions, in the order of indicator,
    area and year): its baseline's columns (``_b``) and its target's (``_t``), missing where that
    end has no row.  Each column is taken once from ``obs``, by position."""
    indicator, area = (pd.factorize(obs[name])[0][chosen] for name in ("indicator", "area_code"))
    new = np.ones(len(chosen), dtype=bool)
    new[1:] = (indicator[1:] != indicator[:-1]) | (area[1:] != area[:-1])
    group = np.cumsum(new) - 1
    at_baseline = obs["year"].to_numpy()[chosen] == baseline
    ends = {}
    for suffix, rows in (("_b", at_baseline), ("_t", ~at_baseline)):
        pos = np.full(int(new.sum()), -1, dtype=np.int64)
        pos[group[rows]] = chosen[rows]
        ends[suffix] = pos
    if "note" not in obs:
        obs = obs.assign(note="")
    # the keys typed as the levels of an index of them are (Python strings become pandas' text)
    keys = pd.MultiIndex.from_arrays([obs[name].take(chosen[new]) for name in ("indicator", "area_code")])
    return {
        "indicator": keys.get_level_values(0).to_series(index=range(len(keys))),
        "area_code": keys.get_level_values(1).to_series(index=range(len(keys))),
        **{name + end: obs[name].reindex(pos).reset_index(drop=True) for end, pos in ends.items() for name in ENDS},
    }


def _of_area(obs: pd.DataFrame, wanted: np.ndarray, area: object, baseline: int, target: int) -> np.ndarray:
    """The positions of the ``wanted`` rows of one area (all when ``area`` is None); an area without a
    row in either year is an error."""
    from kpi.api import area_code

    if area is None:
        return np.flatnonzero(wanted)
    code = area_code(area)
    here = (obs["area_code"] == code).to_numpy(dtype=bool, na_value=False)
    if not here.any():
        raise KpiError(f"area {area!r}: no observation for it in the data given")
    rows = np.flatnonzero(wanted & here)
    if not len(rows):
        held = sorted(set(obs.loc[here, "year"].astype(int)))
        raise KpiError(
            f"area {area!r}: no observation for it in {baseline} or {target} (its years: {', '.join(map(str, held))})"
        )
    return rows


def _powers(bases: pd.Series, exponent: float) -> pd.Series:
    """``bases ** exponent`` by the C library's ``pow``, as ``cagr`` takes it, value by value.

    numpy's own power differs in the last digit from one processor to another (it has its own
    code for AVX-512), so the same data would give a different ``changes.csv`` on another machine.
    """
    return pd.Series([b**exponent for b in bases.tolist()], index=bases.index, dtype=float)


def _table(ends: dict[str, pd.Series], baseline: int, target: int) -> pd.DataFrame:
    """The changes table from both ends (``_ends``): each end's column let go of once it is used
    (a nation's ends hold 600,000 rows of places and notes, twice)."""
    take = ends.pop
    bv, tv = take("value_b").astype(float), take("value_t").astype(float)
    complete = bv.notna() & tv.notna()
    years = target - baseline
    growth = (tv / bv).where((bv > 0) & (tv > 0))
    table = {"indicator": take("indicator"), "area_code": take("area_code")}
    table["area_name"] = _filled(take("area_name_t"), take("area_name_b"))
    table["unit"] = _filled(take("unit_t"), take("unit_b"))
    for end, year, value in (("baseline", baseline, bv), ("target", target, tv)):
        suffix = end[0]
        table[f"{end}_year"] = year
        table[f"{end}_value"] = value
        table[f"{end}_status"] = _filled(take(f"status_{suffix}"), "missing")
        table[f"{end}_source"] = _filled(take(f"source_id_{suffix}"), "")
        table[f"{end}_ref"] = _filled(take(f"source_ref_{suffix}"), "")
    table["change_abs"] = tv - bv
    table["change_pct"] = ((tv - bv) / bv * 100).where(bv != 0)
    table["cagr_pct"] = ((_powers(growth, 1 / years) - 1) * 100).where(complete)
    table["complete"] = complete
    table["baseline_note"] = _filled(take("note_b"), "")
    table["target_note"] = _filled(take("note_t"), "")
    return pd.DataFrame(table, columns=CHANGES.columns)


def _filled(column: pd.Series, value: object) -> pd.Series:
    """``column.fillna(value)`` (a scalar, or a column of the same rows); Arrow text filled by Arrow
    (pandas' own way goes through a mask, ten times slower on a nation's columns)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = column.dtype == "str" and column.dtype.storage == "pyarrow"
    other = value.dtype == column.dtype if isinstance(value, pd.Series) else isinstance(value, str)
    if not (arrow and other):
        return column.fillna(value)
    fill = pa.array(value.array) if isinstance(value, pd.Series) else pa.scalar(value, pa.large_string())
    return pd.Series(pc.coalesce(pa.array(column.array), fill), index=column.index, name=column.name, dtype="str")
