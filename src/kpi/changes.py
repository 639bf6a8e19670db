"""Two-period comparison: baseline and target values, change, % change and CAGR per indicator.

Statuses of both ends are carried.  A missing baseline (or target) is reported as
missing: it is never replaced by the value of another year.

>>> obs = pd.DataFrame({"indicator": "crops.food_grain_output", "area_code": "106", "area_name": "Huyện Tam Đường",
...     "year": [2012, 2022], "value": [37015.0, 41100.0], "unit": "t", "status": ["derived", "reported"],
...     "source_id": "s", "source_ref": ["a − b", "a"]})
>>> row = compare(obs, 2012, 2022).iloc[0]
>>> float(row["change_abs"]), round(float(row["change_pct"]), 2), round(float(row["cagr_pct"]), 3), row["baseline_status"]
(4085.0, 11.04, 1.052, 'derived')
"""
from __future__ import annotations

import math

import pandas as pd

from kpi.errors import UnitMismatch

CHANGE_COLUMNS = ["indicator", "area_code", "area_name", "unit", "baseline_year", "baseline_value",
                  "baseline_status", "baseline_source", "baseline_ref", "target_year", "target_value",
                  "target_status", "target_source", "target_ref", "change_abs", "change_pct", "cagr_pct", "complete"]
SKIP_SUFFIXES = (".increase", ".printed")  # printed increases and printed shares are inputs, not series


def cagr(start: float, end: float, years: int) -> float:
    """Compound annual growth rate in % (NaN when not defined: non-positive ends or no years).

    >>> round(cagr(100, 121, 2), 6), math.isnan(cagr(0, 5, 3))
    (10.0, True)
    """
    if years <= 0 or start <= 0 or end <= 0:
        return math.nan
    return ((end / start) ** (1 / years) - 1) * 100


def compare(obs: pd.DataFrame, baseline: int, target: int, area: str | None = None,
            priority: dict[str, int] | None = None) -> pd.DataFrame:
    """Compare ``baseline`` and ``target`` years for every indicator (and area) with a value in either.

    ``obs`` may hold several sources: one value per cell is chosen with ``kpi.sources.pick``.
    """
    from kpi.sources import pick

    if baseline >= target:
        raise ValueError(f"baseline {baseline} must come before target {target}")
    table = obs[obs["year"].isin([baseline, target]) & ~obs["indicator"].str.endswith(SKIP_SUFFIXES)]
    if area is not None:
        table = table[table["area_code"] == area]
    if table.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    if priority is None and table.duplicated(["indicator", "area_code", "year"]).any():
        from kpi.api import load_priorities
        priority = load_priorities()
    table = pick(table, priority or {})
    rows = []
    for (indicator, area_code), group in table.groupby(["indicator", "area_code"], sort=True):
        ends = {int(r["year"]): r for _, r in group.iterrows()}
        b, t = ends.get(baseline), ends.get(target)
        if b is not None and t is not None and b["unit"] != t["unit"]:
            raise UnitMismatch(f"{indicator} {area_code}: baseline in {b['unit']} but target in {t['unit']}")
        any_end = t if t is not None else b
        bv = b["value"] if b is not None else math.nan
        tv = t["value"] if t is not None else math.nan
        rows.append({
            "indicator": indicator, "area_code": area_code, "area_name": any_end["area_name"], "unit": any_end["unit"],
            "baseline_year": baseline, "baseline_value": bv,
            "baseline_status": b["status"] if b is not None else "missing",
            "baseline_source": b["source_id"] if b is not None else "", "baseline_ref": b["source_ref"] if b is not None else "",
            "target_year": target, "target_value": tv,
            "target_status": t["status"] if t is not None else "missing",
            "target_source": t["source_id"] if t is not None else "", "target_ref": t["source_ref"] if t is not None else "",
            "change_abs": tv - bv,
            "change_pct": (tv - bv) / bv * 100 if bv and not math.isnan(bv) else math.nan,
            "cagr_pct": cagr(bv, tv, target - baseline) if b is not None and t is not None else math.nan,
            "complete": b is not None and t is not None,
        })
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)
