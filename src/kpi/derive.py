"""Figures the sources imply but do not print, computed from the printed ones and marked ``derived``.

* baselines: 2012 = 2022 value − printed increase on 2012 (the report's "tăng 4.085 tấn so
  với năm 2012");
* ratios: shares and yields from their parts (catalogue ``numerator``/``denominator``);
  where a source prints the ratio itself, the printed value stays and the recomputed one
  is compared with it (a difference beyond the printed rounding is a finding);
* list aggregates: counts and sums over the lists of products, projects and varieties;
* district totals a form leaves empty: the sum of the district's units, for additive
  indicators when every unit of that year has a value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from kpi import reference
from kpi.columns import looked_up, per_distinct, shared_codes, whole_groups
from kpi.layouts import Layout
from kpi.schema import FINDINGS, OBSERVATIONS
from kpi.text import format_number

# A sum is as weak as its weakest part: a bound or an estimate among the parts makes the sum one too.
WEAKEST_FIRST = ("lower_bound", "upper_bound", "estimate", "preliminary")


def decimals_of(value: float, max_decimals: int = 6) -> int:
    """Decimals a printed value was rounded to.

    >>> decimals_of(93.7), decimals_of(100.0), decimals_of(6.39)
    (1, 0, 2)
    """
    for d in range(max_decimals + 1):
        if math.isclose(round(value, d), value, rel_tol=0, abs_tol=1e-9):
            return d
    return max_decimals


def agrees_with_printed(printed: float, computed: float) -> bool:
    """True when ``computed`` rounds to ``printed`` at the printed precision.

    >>> agrees_with_printed(97.8, 1902 / 1944 * 100), agrees_with_printed(93.7, 1506 / 1606 * 100)
    (True, False)
    """
    return abs(computed - printed) <= 0.5 * 10 ** -decimals_of(printed) + 1e-9


def plain_number(value: float) -> str:
    """A number in the messages of the processed tables (English format; four decimals below 1).

    >>> plain_number(41100.0), plain_number(0.125)
    ('41,100', '0.1250')
    """
    return format_number(value, "en", None if abs(value) >= 1 else 4)


def plain_numbers(values: Iterable[float]) -> list[str]:
    """``plain_number`` of each value, the same text, for a column of them (a tenth of the time).

    >>> plain_numbers([41100.0, 0.125, float("nan"), -1493.90])
    ['41,100', '0.1250', '–', '-1,493.9']
    """
    made: dict[float, str] = {}  # each value's text once: the parts of ratios and sums repeat their counts
    return [made[v] if v in made and v else made.setdefault(v, _plain(v)) if v else _plain(v) for v in values]


def _plain(v: float) -> str:
    """``plain_number`` of one value, the way ``plain_numbers`` writes it."""
    return "–" if v != v else f"{v:,.2f}".rstrip("0").rstrip(".") if abs(v) >= 1 else f"{v:,.4f}"  # NaN: not itself


def baselines(obs: pd.DataFrame, base_years: pd.Series) -> pd.DataFrame:
    """Base-year values from a level and its printed increase (same source, area and year).

    >>> obs = pd.DataFrame({"indicator": ["crops.food_grain_output", "crops.food_grain_output.increase"],
    ...     "area_code": "106", "area_name": "Huyện Tam Đường", "year": 2022, "value": [41100.0, 4085.0],
    ...     "unit": "t", "status": "reported", "source_id": "s", "source_ref": ["a!C7", "a!D7"], "note": ""})
    >>> baselines(obs, pd.Series([None, 2012]))[["indicator", "year", "value", "status"]].to_dict("records")
    [{'indicator': 'crops.food_grain_output', 'year': 2012, 'value': 37015.0, 'status': 'derived'}]
    """
    cat = reference.catalogue()
    increases = obs.assign(base_year=base_years.values)
    increases = increases[per_distinct(increases["indicator"], lambda i: i.map(cat["increase_of"]).fillna("") != "")]
    if increases.empty:
        return derived_rows([])
    levels = obs[obs["indicator"].isin(set(cat.loc[increases["indicator"], "increase_of"]))]
    first: dict[tuple, int] = {}  # (level, area, year, source) → the row of its first value
    for row, key in enumerate(zip(*(levels[c] for c in ("indicator", "area_code", "year", "source_id")))):
        first.setdefault(key, row)
    rows = []
    for inc in increases.itertuples(index=False):
        level_id = cat.loc[inc.indicator, "increase_of"]
        row = first.get((level_id, inc.area_code, inc.year, inc.source_id))
        if row is None or pd.isna(inc.base_year):
            continue
        lv = levels.iloc[row]
        base = int(inc.base_year)
        rows.append(
            {
                "indicator": level_id,
                "area_code": inc.area_code,
                "area_name": inc.area_name,
                "year": base,
                "value": lv["value"] - inc.value,
                "unit": lv["unit"],
                "status": "derived",
                "source_id": inc.source_id,
                "source_ref": f"{lv['source_ref']} − {inc.source_ref}",
                "note": (
                    f"{base} = {inc.year} value {plain_number(lv['value'])} − printed increase "
                    f"{plain_number(inc.value)} on {base} (statuses: {lv['status']}, {inc.status})"
                ),
            }
        )
    return derived_rows(rows)


def derived_rows(rows: list[dict]) -> pd.DataFrame:
    """Derived observations as a table; none is an empty table of the schema's types, so joining it
    leaves the years whole numbers and the values floats (an untyped one would make both objects)."""
    return pd.DataFrame(rows, columns=OBSERVATIONS.columns) if rows else OBSERVATIONS.empty()


def _ratio_rules(cat: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the ratio rules in catalogue order, the indicators each rule's ratio is printed as).

    A ratio is printed as itself, or as the indicator whose ``printed_of`` names it.
    """
    rules = cat[(cat["numerator"] != "") & (cat["denominator"] != "")].reset_index(drop=True)
    rules = rules.assign(rule_pos=range(len(rules)))[["rule_pos", "id", "numerator", "denominator", "factor", "unit"]]
    rules = rules.rename(columns={"id": "rule", "unit": "rule_unit"})
    printed_of = {row.printed_of: row.id for row in cat.itertuples() if row.printed_of}
    printed = pd.DataFrame(
        [(rule, shown) for rule in rules["rule"] for shown in dict.fromkeys([rule, printed_of.get(rule, "")])],
        columns=["rule", "indicator"],
    )
    return rules, printed


def ratios(obs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ratios from their parts; where the ratio is printed too, a check instead of a new row.

    Every rule at once: numerators and denominators paired in one merge, checked against the
    printed ratios in another; rows come in catalogue order of the rules, then in the order of
    their parts in ``obs``.  Returns (derived rows, findings where a printed ratio disagrees
    with its parts).
    """
    rules, shown = _ratio_rules(reference.catalogue())
    cell = ["area_code", "year", "source_id"]
    obs = obs.reset_index(drop=True).assign(pos=range(len(obs)))
    parts = set(rules["numerator"]) | set(rules["denominator"]) | set(shown["indicator"])
    obs = obs[obs["indicator"].isin(parts)]  # the merges below meet no other row
    num = obs.merge(rules, left_on="indicator", right_on="numerator")
    den = obs[cell + ["indicator", "value", "status", "source_ref", "pos"]].rename(
        columns={"indicator": "denominator", "value": "value_d", "status": "status_d"}
    )
    pairs = num.merge(den.rename(columns={"source_ref": "source_ref_d", "pos": "pos_d"}), on=cell + ["denominator"])
    pairs = pairs[pairs["value_d"] != 0].sort_values(["rule_pos", "pos", "pos_d"], ignore_index=True)
    pairs = pairs.assign(
        ratio=pairs["value"] / pairs["value_d"] * pairs["factor"],
        ref=pairs["source_ref"] + " ÷ " + pairs["source_ref_d"],
    )
    printed = obs[cell + ["indicator", "value", "unit", "source_ref", "pos"]].merge(shown, on="indicator")
    checked = pairs.merge(printed, on=cell + ["rule"], suffixes=("", "_p"))
    checked = checked.sort_values(["rule_pos", "pos", "pos_d", "pos_p"], ignore_index=True)
    findings = [
        _ratio_finding(
            c.rule,
            c,
            pd.Series({"value": c.value_p, "unit": c.unit_p, "source_ref": c.source_ref_p}),
            c.ratio,
            c.ref,
        )
        for c in checked.itertuples(index=False)
        if not agrees_with_printed(c.value_p, c.ratio)
    ]
    given = printed.loc[printed["indicator"] == printed["rule"], cell + ["rule"]]  # a printed ratio stays
    new = pairs.merge(given, on=cell + ["rule"], how="left", indicator=True)
    new = new[new["_merge"] == "left_only"]
    if new.empty:
        return OBSERVATIONS.empty(), pd.DataFrame(findings, columns=FINDINGS.columns)
    return _derived_ratios(new), pd.DataFrame(findings, columns=FINDINGS.columns)


def _derived_ratios(new: pd.DataFrame) -> pd.DataFrame:
    """Observation rows of the ratios computed from their parts: as weak as the weaker part."""
    weak = new["status"].isin(WEAKEST_FIRST[:3]) | new["status_d"].isin(WEAKEST_FIRST[:3])
    early = (new["status"] == "preliminary") | (new["status_d"] == "preliminary")
    status = weak.map({True: "estimate", False: "derived"}).where(weak | ~early, "preliminary")
    return pd.DataFrame(
        {
            "indicator": new["rule"],
            "area_code": new["area_code"],
            "area_name": new["area_name"],
            "year": new["year"],
            "value": new["ratio"],
            "unit": new["rule_unit"],
            "status": status,
            "source_id": new["source_id"],
            "source_ref": new["ref"],
            "note": [
                f"{a} / {b}" + (" × 100" if f == 100 else "")
                for a, b, f in zip(
                    plain_numbers(new["value"].tolist()), plain_numbers(new["value_d"].tolist()), new["factor"].tolist()
                )
            ],
        },
        columns=OBSERVATIONS.columns,
    ).reset_index(drop=True)


def _ratio_finding(indicator: str, n, printed: pd.Series, value: float, ref: str) -> dict:
    d = decimals_of(printed["value"])
    return {
        "check": "printed_ratio",
        "indicator": indicator,
        "area_code": n.area_code,
        "year": n.year,
        "source_id": n.source_id,
        "source_ref": printed["source_ref"],
        "unit": printed["unit"],
        "value": printed["value"],
        "expected": value,
        "other": "",
        "message": (
            f"printed {format_number(printed['value'], 'en', d)} {printed['unit']} but the parts give "
            f"{format_number(value, 'en', d + 2)} {printed['unit']} ({ref}), which rounds to "
            f"{format_number(round(value, d), 'en', d)}"
        ),
    }


def list_aggregates(lists: dict[str, pd.DataFrame], specs: dict[str, Layout]) -> pd.DataFrame:
    """Counts and sums over list tables, one derived row per aggregate and year."""
    cat = reference.catalogue()
    gaz = reference.gazetteer()
    rows = []
    for table_name, table in lists.items():
        spec = specs[table_name]
        if table.empty or "year" not in table:
            continue
        for agg in spec.aggregates:
            selected = table
            for role, wanted in agg.where.items():
                needle = wanted.casefold()
                selected = selected[selected[role].map(lambda v, n=needle: n in str(v).casefold())]
            for year, group in selected.groupby("year"):
                lines = ", ".join(ref.rsplit(":", 1)[1] for ref in group["source_ref"])
                file = group["source_ref"].iloc[0].rsplit(":", 1)[0]
                if agg.op == "count":
                    value, how = float(len(group)), f"count of {len(group)} rows"
                else:
                    col = group[agg.column].dropna()
                    if col.empty:
                        continue
                    value = float(col.sum())
                    left_out = len(group) - len(col)
                    how = f"sum of {len(col)} rows" + (
                        f"; {left_out} rows without a value left out" if left_out else ""
                    )
                where = " and ".join(f"{k} = {v}" for k, v in agg.where.items())
                rows.append(
                    {
                        "indicator": agg.indicator,
                        "area_code": spec.area,
                        "area_name": gaz.name(spec.area, int(year)),
                        "year": int(year),
                        "value": value,
                        "unit": cat.loc[agg.indicator, "unit"],
                        "status": "derived",
                        "source_id": group["source_id"].iloc[0],
                        "source_ref": f"{file}:{lines}",
                        "note": how + (f" where {where}" if where else ""),
                    }
                )
    return derived_rows(rows)


def _cell_of(ref: str) -> tuple[str, str, int] | None:
    """(place, column letters, row) of ``file!sheet!D9``; None for any other reference."""
    place, bang, cell = ref.rpartition("!")
    letters = cell.rstrip("0123456789")
    row = cell[len(letters) :]
    if bang and row and 0 < len(letters) <= 3 and letters.isascii() and letters.isalpha() and letters.isupper():
        return place, letters, int(row)
    return None


def span_ref(refs: list[str]) -> str:
    """The places of several cells as one: a column range of one sheet, else the places joined.

    >>> span_ref(["f.xlsx!S!D9", "f.xlsx!S!D7", "f.xlsx!S!D8"]), span_ref(["a.csv:3", "a.csv:5"])
    ('f.xlsx!S!D7:D9', 'a.csv:3 + a.csv:5')
    """
    cells = [_cell_of(ref) for ref in refs]
    if all(cells) and len({(place, letters) for place, letters, _ in cells}) == 1:
        place, column, _ = cells[0]
        rows = sorted(row for _, _, row in cells)
        return f"{place}!{column}{rows[0]}:{column}{rows[-1]}"
    return " + ".join(sorted(refs))


def unit_sums(obs: pd.DataFrame) -> pd.DataFrame:
    """For each additive indicator, year, source and district: the sum of the district's units,
    how many of its units in force that year have a value, and where they are.

    Columns: indicator, year, source_id, district, unit, value, units, expected, status, ref.
    """
    sums, places = _unit_sums(obs)
    sums["ref"] = places(sums.index)
    return sums[UNIT_SUMS]


UNIT_SUMS = ["indicator", "year", "source_id", "district", "unit", "value", "units", "expected", "status", "ref"]


def _unit_sums(
    obs: pd.DataFrame, narrow: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
) -> tuple[pd.DataFrame, Callable[[Iterable[int]], list[str]]]:
    """``unit_sums`` but its ``ref``, and what gives the refs of some of its rows (by row number): the
    places of a sum's cells are the slow part, worked out only for the sums kept.

    ``narrow``: given the units' rows (positions in ``obs``) and the district of each, the rows of
    the sums wanted, whole groups of them (``kpi.columns.whole_groups``); the sums of the others
    are not worked out, and their rows' text is never copied.
    """
    cat = reference.catalogue()
    needed = ["indicator", "area_code", "year", "value", "unit", "status", "source_id", "source_ref"]
    rows = np.flatnonzero(per_distinct(obs["indicator"], lambda i: i.map(cat["aggregation"]) == "sum").to_numpy())
    columns = UNIT_SUMS[:-1]
    # none: years and values of the schema's types all the same, so that joining them keeps them typed
    none = (pd.DataFrame(columns=columns).astype({"year": "int64", "value": "float64"}), lambda index: [])
    if not len(rows):
        return none
    years = obs["year"].to_numpy()
    eras = {int(year): reference.era_of_year(int(year)) for year in np.unique(years[rows])}
    links, of_unit = reference.district_units(tuple(sorted(set(eras.values()))))
    era = per_distinct(obs["year"], lambda y: y.map(eras))
    if narrow is not None and of_unit is not None:  # not where a unit has two districts (it counts in both)
        rows = rows[narrow(rows, looked_up([era, obs["area_code"]], of_unit)[rows])]
    additive = obs.iloc[rows][needed].assign(era=era.iloc[rows].to_numpy())
    parts = additive.merge(links, on=["era", "area_code"])
    if parts.empty:
        return none
    keys = ["indicator", "year", "source_id", "district"]
    grouped = parts.groupby(keys)
    sums = grouped.agg(
        unit=("unit", "first"), value=("value", "sum"), units=("area_code", "nunique"), expected=("expected", "first")
    ).reset_index()
    rank = parts["status"].map({w: i for i, w in enumerate(WEAKEST_FIRST)})  # NaN: none of the weak statuses
    weakest = rank.groupby([parts[k] for k in keys]).min().to_numpy()
    sums["status"] = [WEAKEST_FIRST[int(r)] if r == r else "derived" for r in weakest]
    groups, refs = grouped.ngroup().to_numpy(), parts["source_ref"].to_numpy()  # kept, not the whole parts
    del grouped, parts, rank

    def places(rows: Iterable[int]) -> list[str]:
        rows = [int(g) for g in rows]
        wanted: dict[int, list[str]] = {g: [] for g in rows}
        for group, ref in zip(groups, refs):  # row order within each
            if group in wanted:
                wanted[group].append(ref)
        return [span_ref(wanted[g]) for g in rows]

    return sums[columns], places


def district_totals(obs: pd.DataFrame) -> pd.DataFrame:
    """District totals a source leaves empty (a form's TOTAL row), as the sum of the district's
    units -- only for additive indicators and only when every unit in force that year has a
    value in that source; marked ``derived`` (or as weak as the weakest part)."""
    given = ["indicator", "area_code", "year", "source_id"]
    areas = reference.gazetteer().areas
    totals = np.flatnonzero(obs["area_code"].isin(set(areas.loc[areas["level"] == "district", "code"])).to_numpy())
    codes = {c: pd.factorize(obs[c])[0] for c in ("indicator", "year", "source_id")}  # once, for every row
    area_of_totals = obs["area_code"].iloc[totals].to_numpy(dtype=object)

    def untotalled(rows: np.ndarray, district: np.ndarray) -> np.ndarray:  # most totals are given: sum the others
        keys, given_totals = shared_codes(
            [codes["indicator"][rows], district.astype(object), codes["year"][rows], codes["source_id"][rows]],
            [codes["indicator"][totals], area_of_totals, codes["year"][totals], codes["source_id"][totals]],
        )
        return whole_groups(keys, np.setdiff1d(keys, given_totals))

    sums, places = _unit_sums(obs, untotalled)
    sums = sums[sums["units"] == sums["expected"]].rename_axis("group").reset_index()
    given = obs.loc[obs["area_code"].isin(set(sums["district"])), given]
    missing = sums.merge(given.rename(columns={"area_code": "district"}), how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    if missing.empty:  # every total given: a table of the schema's types, as derived_rows gives
        return derived_rows([])
    missing = missing.assign(ref=places(missing["group"]))
    gaz = reference.gazetteer()
    return pd.DataFrame(
        {
            "indicator": missing["indicator"],
            "area_code": missing["district"],
            "area_name": [gaz.name(d, int(y)) for d, y in zip(missing["district"], missing["year"])],
            "year": missing["year"],
            "value": missing["value"],
            "unit": missing["unit"],
            "status": missing["status"],
            "source_id": missing["source_id"],
            "source_ref": [f"sum of {n} units: {ref}" for n, ref in zip(missing["units"], missing["ref"])],
            "note": [
                f"the district total is not given: {v} {u} is the sum of its {n} units"
                for v, u, n in zip(
                    plain_numbers(missing["value"].tolist()), missing["unit"].tolist(), missing["units"].tolist()
                )
            ],
        },
        columns=OBSERVATIONS.columns,
    )
