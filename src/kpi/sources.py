"""Several sources, one answer: pick one value per indicator/area/year and list disagreements.

The priority of a source is declared in its provenance record (``priority``: 1 is the
report itself).  Between values of equal priority a printed value beats a preliminary one,
a preliminary one a derived one, and a derived one an estimate or a bound.  Every other value is kept in the
observations table; ``conflicts`` lists those that disagree with the chosen one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi.columns import per_distinct, sort_codes, stable_order
from kpi.derive import plain_number, plain_numbers
from kpi.schema import CONFLICTS, FINDINGS

TOLERANCE = 0.01  # relative difference above which two sources disagree (1 %: beyond rounding)
# Between values of equal source priority.  A preliminary figure (sơ bộ) ranks after the official
# one, which is its own final version, but before a derived one: it is still a count the source
# printed, while a derived figure is our computation from printed figures (which may themselves
# be preliminary) -- so a yearbook's preliminary figure is preferred to the sum we work out.
STATUS_RANK = {"reported": 0, "preliminary": 1, "derived": 2, "estimate": 3, "lower_bound": 4, "upper_bound": 4}
CELL = ["indicator", "area_code", "year"]
RANKED = CELL + ["_priority", "_status", "source_id"]  # the order of ``_ranked`` and ``chosen_rows``


def _ranks(obs: pd.DataFrame, priority: dict[str, int]) -> dict[str, pd.Series]:
    """Each row's source priority (99: none declared) and status rank (9: an unknown status)."""
    return {
        "_priority": per_distinct(obs["source_id"], lambda s: s.map(priority)).fillna(99),
        "_status": per_distinct(obs["status"], lambda s: s.map(STATUS_RANK)).fillna(9),
    }


def _ranked(obs: pd.DataFrame, priority: dict[str, int]) -> pd.DataFrame:
    return obs.assign(**_ranks(obs, priority)).sort_values(RANKED, kind="stable")


def chosen_rows(obs: pd.DataFrame, priority: dict[str, int], rows: np.ndarray | None = None) -> np.ndarray:
    """The positions in ``obs`` of the rows ``pick`` keeps, in its order: the first of each
    (indicator, area, year) ranked by source priority, status and source (``_ranked``), among
    ``rows`` (positions; all rows when None).

    The rows are ranked on integer codes given in the order of the values (missing values
    last, as ``sort_values`` puts them), so no column of text is copied to rank them.
    """
    rows = np.arange(len(obs)) if rows is None else np.asarray(rows)
    ranks = _ranks(obs, priority)
    if not len(rows):
        return rows
    keys = [sort_codes(ranks[name] if name in ranks else obs[name])[rows] for name in RANKED]
    order = stable_order(keys)  # stable, as sort_values(kind="stable")
    cell = np.column_stack([key[order] for key in keys[: len(CELL)]])
    first = np.ones(len(order), dtype=bool)
    first[1:] = (cell[1:] != cell[:-1]).any(axis=1)
    return rows[order][first]


def pick(obs: pd.DataFrame, priority: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per (indicator, area, year): the source of highest priority (lowest number).

    ``priority`` ({source_id: number}) defaults to the priorities declared in the provenance
    records of the project's data.  Same columns as the observations.

    >>> obs = pd.DataFrame({"indicator": "fish.output", "area_code": "106", "year": 2022,
    ...     "value": [146.0, 300.0], "status": ["reported", "lower_bound"], "source_id": ["report", "news"]})
    >>> pick(obs, {"report": 1, "news": 3})[["source_id", "value"]].to_dict("records")
    [{'source_id': 'report', 'value': 146.0}]
    """
    if priority is None:
        from kpi.api import load_priorities

        priority = load_priorities()
    return obs.iloc[chosen_rows(obs, priority)].reset_index(drop=True)


def _disagree(chosen: pd.Series, other: pd.Series, tolerance: float) -> float | None:
    """Relative difference when the two values disagree (bounds respected), else None."""
    a, b = chosen["value"], other["value"]
    scale = max(abs(a), abs(b), 1e-12)
    rel = abs(a - b) / scale
    if other["status"] == "lower_bound" and a >= b * (1 - tolerance):
        return None
    if chosen["status"] == "lower_bound" and b >= a * (1 - tolerance):
        return None
    if other["status"] == "upper_bound" and a <= b * (1 + tolerance):
        return None
    if chosen["status"] == "upper_bound" and b <= a * (1 + tolerance):
        return None
    if "lower_bound" in (other["status"], chosen["status"]) or "upper_bound" in (other["status"], chosen["status"]):
        return rel
    return rel if rel > tolerance else None


def conflicts(obs: pd.DataFrame, priority: dict[str, int] | None = None, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Every value that disagrees with the chosen one for its (indicator, area, year).

    ``priority`` defaults to the sources' declared priorities, as in ``pick``.  Columns:
    indicator, area_code, year, unit, chosen_source, chosen_value, chosen_status,
    other_source, other_value, other_status, other_ref, relative_difference, message.

    >>> obs = pd.DataFrame({"indicator": "fish.output", "area_code": "106", "year": 2022, "unit": "t",
    ...     "value": [146.0, 300.0], "status": ["reported", "lower_bound"], "source_id": ["report", "news"],
    ...     "source_ref": ["a", "b"]})
    >>> conflicts(obs, {"report": 1, "news": 3})["message"].iloc[0]
    'fish.output 106 2022: report gives 146 t (reported), news gives over 300 t (lower_bound)'
    """
    if priority is None:
        from kpi.api import load_priorities

        priority = load_priorities()
    rows = []
    several = obs.groupby(CELL)["source_id"].transform("nunique") > 1  # only cells given by two sources or more
    ranked = _ranked(obs[several], priority)
    for _, group in ranked.groupby(CELL, sort=True):
        chosen = group.iloc[0]
        for _, other in group.iloc[1:].iterrows():
            if other["source_id"] == chosen["source_id"]:
                continue
            rel = _disagree(chosen, other, tolerance)
            if rel is None:
                continue
            rows.append(
                {
                    "indicator": chosen["indicator"],
                    "area_code": chosen["area_code"],
                    "year": chosen["year"],
                    "unit": chosen["unit"],
                    "chosen_source": chosen["source_id"],
                    "chosen_value": chosen["value"],
                    "chosen_status": chosen["status"],
                    "other_source": other["source_id"],
                    "other_value": other["value"],
                    "other_status": other["status"],
                    "other_ref": other["source_ref"],
                    "relative_difference": round(rel, 4),
                    "message": _describe(chosen, other),
                }
            )
    return pd.DataFrame(rows, columns=CONFLICTS.columns)


def _describe(chosen: pd.Series, other: pd.Series) -> str:
    def val(row: pd.Series) -> str:
        prefix = {"lower_bound": "over ", "upper_bound": "under ", "estimate": "about "}.get(row["status"], "")
        return f"{prefix}{plain_number(row['value'])} {row['unit']} ({row['status']})"

    return (
        f"{chosen['indicator']} {chosen['area_code']} {chosen['year']}: {chosen['source_id']} gives "
        f"{val(chosen)}, {other['source_id']} gives {val(other)}"
    )


OTHER = ["source_id_b", "year_b", "status_b", "source_ref_b"]  # of the other source an echo names


def echoes(obs: pd.DataFrame) -> pd.DataFrame:
    """The same value for the same indicator and area in two sources but different years.

    A figure copied from an earlier estimate (the report's 10,200 t of tea in 2022 is the
    2021 estimate of a news article) shows up here.
    """
    from kpi import reference

    same = ["indicator", "area_code", "value"]
    printed = obs["status"] != "derived"
    again = obs.loc[printed, same].duplicated(keep=False)  # a value given once pairs only with itself
    printed = obs.loc[again.index[again.to_numpy()]]
    pairs = printed.merge(printed, on=same, suffixes=("", "_b"))
    pairs = pairs[(pairs["year"] != pairs["year_b"]) & (pairs["source_id"] < pairs["source_id_b"])]
    # a code reused in 2025 names two areas: the township's 2022 figure is no echo of Xã Bình Lư's 2026 one
    other_era = (pairs["year"] >= reference.ERA_BOUNDARY_YEAR) != (pairs["year_b"] >= reference.ERA_BOUNDARY_YEAR)
    pairs = pairs[~(other_era & pairs["area_code"].isin(reference.reused_codes()))]
    b = {c: pairs[c].tolist() for c in ["unit", "year", "source_id", "status", *OTHER]}  # lists: quick to walk
    return pd.DataFrame(
        {
            "check": "same_value_other_year",
            "indicator": pairs["indicator"],
            "area_code": pairs["area_code"],
            "year": pairs["year"],
            "source_id": pairs["source_id"],
            "source_ref": pairs["source_ref"],
            "unit": pairs["unit"],
            "value": pairs["value"],
            "expected": pairs["value"],
            "other": [f"{sb} {yb} ({stb}, {rb})" for sb, yb, stb, rb in zip(*(b[c] for c in OTHER))],
            "message": [
                f"{v} {u} is given for {y} by {s} ({st}) and for {yb} by {sb} ({stb}, {rb})"
                for v, u, y, s, st, sb, yb, stb, rb in zip(
                    plain_numbers(pairs["value"].tolist()),
                    *(b[c] for c in ["unit", "year", "source_id", "status", *OTHER]),
                )
            ],
        },
        columns=FINDINGS.columns,
    )
