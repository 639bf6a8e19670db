"""The 2025 reorganisation: figures of the old units re-aggregated to the communes of 1 July 2025.

Resolution 1670/NQ-UBTVQH15 merged Tam Đường's 13 units into 6 new communes and wards
(``data/reference/reorganisation_2025.csv``).  For a series that starts in 2012 to go on
into years reported in the new units, the old units' values are summed per new unit --
for additive indicators only: a yield or a share cannot be summed, and asking for one is
refused with a message naming its parts.

Codes were reused (03390 was Thị trấn Tam Đường and is now Xã Bình Lư), so re-aggregated
rows are returned as their own table, never mixed into ``observations.csv``.
"""

from __future__ import annotations

import pandas as pd

from kpi import config, reference
from kpi.derive import plain_number
from kpi.errors import KpiError
from kpi.schema import OBSERVATIONS

STATUS_OF_SUM = ["lower_bound", "upper_bound", "estimate", "preliminary"]  # a sum is as weak as its weakest part


@reference.per_folder(2)
def mapping() -> pd.DataFrame:
    return pd.read_csv(config.reference_dir() / "reorganisation_2025.csv", dtype=str, keep_default_na=False)


def refuse_non_additive(indicators: list[str]) -> None:
    cat = reference.catalogue()
    bad = [i for i in indicators if i in cat.index and cat.loc[i, "aggregation"] != "sum"]
    if bad:
        parts = {i: [p for p in (cat.loc[i, "numerator"], cat.loc[i, "denominator"]) if p] for i in bad}
        hints = "; ".join(f"{i} (from {' and '.join(p)})" if p else i for i, p in parts.items())
        raise KpiError(
            f"cannot re-aggregate {hints} to the new communes: not additive (a yield, share or "
            "average cannot be summed over communes); re-aggregate its parts and derive it again"
        )


def to_new_units(obs: pd.DataFrame, indicators: list[str] | None = None) -> pd.DataFrame:
    """Sum the values of pre-2025 units into the new units they became part of.

    ``indicators`` None takes every additive indicator present; naming a non-additive one is
    refused.  Each row says which old units it sums and whether the new unit also took in
    units of other districts (then the sum covers the Tam Đường part only).
    """
    cat = reference.catalogue()
    if indicators is None:
        indicators = sorted(i for i in set(obs["indicator"]) if cat.loc[i, "aggregation"] == "sum")
    refuse_non_additive(indicators)
    table = mapping()
    old = obs[
        obs["indicator"].isin(indicators)
        & (obs["year"] < reference.ERA_BOUNDARY_YEAR)
        & obs["area_code"].isin(table["old_code"])
    ]
    old = old.merge(table, left_on="area_code", right_on="old_code")
    rows = []
    for (indicator, new_code, year, source), group in old.groupby(["indicator", "new_code", "year", "source_id"]):
        statuses = set(group["status"])
        status = next((s for s in STATUS_OF_SUM if s in statuses), "derived")
        others = group["other_members"].iloc[0]
        parts = ", ".join(f"{n} {plain_number(v)}" for n, v in zip(group["old_name"], group["value"]))
        rows.append(
            {
                "indicator": indicator,
                "area_code": new_code,
                "area_name": group["new_name"].iloc[0],
                "year": int(year),
                "value": float(group["value"].sum()),
                "unit": group["unit"].iloc[0],
                "status": status,
                "source_id": source,
                "source_ref": " + ".join(group["source_ref"]),
                "note": (
                    f"re-aggregated to the 2025 unit (Res. 1670/NQ-UBTVQH15 cl. {group['clause'].iloc[0]}): {parts}"
                    + (f"; Tam Đường part only, the unit also took in {others}" if others else "")
                ),
            }
        )
    return pd.DataFrame(rows, columns=OBSERVATIONS.columns)


def new_unit_of(old_code: str) -> tuple[str, str] | None:
    """(code, name) of the 2025 unit an old unit became part of, or None."""
    table = mapping()
    row = table[table["old_code"] == old_code]
    return (row["new_code"].iloc[0], row["new_name"].iloc[0]) if len(row) else None


def series_in_new_units(obs: pd.DataFrame) -> pd.DataFrame:
    """Observations of the new units: native rows from 2025 on plus old years re-aggregated."""
    new = obs[obs["year"] >= reference.ERA_BOUNDARY_YEAR]
    return pd.concat([to_new_units(obs), new], ignore_index=True)


def in_units_of_year(obs: pd.DataFrame, year: int) -> pd.DataFrame:
    """Observations in the units in force in ``year``: from 2025, old years re-aggregated to the new
    communes (03390 is Thị trấn Tam Đường up to 2024 and Xã Bình Lư from 2025), so a comparison
    across 1 July 2025 compares one area with itself.  Reports and ``kpi export`` read this."""
    if reference.era_of_year(year) == "pre2025":
        return obs
    return series_in_new_units(obs)
