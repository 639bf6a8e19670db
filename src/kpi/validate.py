"""Tables checked against their schemas (``kpi.schema``) and consistency checks that give findings.

Schema failures are errors: the run stops and nothing is written.  Consistency checks
(commune parts against district totals, declared identities such as 3 + 211 = 214
conferences) give *findings*: listed in the validation report, not fatal, because a
printed report can disagree with itself and the package must show it, not hide it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi import reference, schema
from kpi.columns import per_distinct, whole_groups
from kpi.derive import plain_number, plain_numbers
from kpi.errors import KpiError
from kpi.schema import FINDINGS

TOLERANCE = 1e-6  # sums of printed integers must match exactly, up to float noise


MAX_LISTED = 20  # failures a schema error lists; the count says how many there are


def vocabularies() -> dict[str, set[str]]:
    """The closed sets a schema's fields name (``kpi.schema.Field.vocabulary``)."""
    return {  # each column's values as a list first: Arrow text walked value by value is slow
        "indicators": set(reference.catalogue().index.tolist()),
        "areas": set(reference.gazetteer().areas["code"].tolist()),
        "units": set(reference.units()["unit"].tolist()),
        "statuses": set(schema.STATUSES),
    }


def _field_failures(field: schema.Field, column: pd.Series, sets: dict[str, set[str]]) -> list[tuple[str, object]]:
    """(check, value) of every value of one column that breaks its field's rule."""
    if field.dtype == "string":
        return _text_failures(field, column, sets)
    failures: list[tuple[str, object]] = []
    empty = column.isna()
    if field.required:
        failures += [("not empty", v) for v in column[empty].head(MAX_LISTED)]
    present = column[~empty]
    if field.vocabulary:
        known = sets[field.vocabulary]
        failures += [(f"in {field.vocabulary}", v) for v in present[~present.isin(known)].unique()[:MAX_LISTED]]
    if not pd.api.types.is_numeric_dtype(present):  # not numbers at all: said once by _coerced
        return failures
    if field.low is not None:
        outside = present[(present < field.low) | (present > field.high)]
        failures += [(f"in range {field.low:g}–{field.high:g}", v) for v in outside.head(MAX_LISTED)]
    if field.below_magnitude is not None:
        large = present[~(present.abs() < field.below_magnitude)]
        failures += [(f"finite, below {field.below_magnitude:g}", v) for v in large.head(MAX_LISTED)]
    return failures


def _text_failures(field: schema.Field, column: pd.Series, sets: dict[str, set[str]]) -> list[tuple[str, object]]:
    """``_field_failures`` of a text column, each rule once per distinct value (a nation's column holds
    a million values and a few thousand distinct ones); the same failures, in the same order.

    A column without a vocabulary is not hashed at all (a place of a cell, ``source_ref``, is
    distinct in every row: hashing a nation's took longer than every other check of the table)."""
    failures: list[tuple[str, object]] = []
    if not field.vocabulary:
        if field.required:
            empty = column.isna().to_numpy() | (column == "").to_numpy(dtype=bool)
            failures += [("not empty", v) for v in column[empty].head(MAX_LISTED)]
        return failures
    codes, distinct = pd.factorize(column)  # missing values: -1; distinct values in the order they first come
    distinct = list(distinct)
    blank = [i for i, v in enumerate(distinct) if v == ""]
    if field.required:
        empty = (codes < 0) | (codes == blank[0]) if blank else codes < 0
        failures += [("not empty", v) for v in column[empty].head(MAX_LISTED)]
    known = sets[field.vocabulary]
    unknown = [v for v in distinct if v != "" and not (isinstance(v, str) and v in known)]
    failures += [(f"in {field.vocabulary}", v) for v in unknown[:MAX_LISTED]]
    return failures


def _coerced(table: schema.Table, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The frame with its number columns of the schema's types; a value that is not one is a failure."""
    problems, columns = [], {}
    for field in table.fields:
        column = frame[field.name]
        if field.dtype not in ("int64", "float64") or column.dtype == field.dtype:  # nothing to convert, or refuse
            columns[field.name] = column
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        bad = column[numbers.isna() & column.notna()]
        problems += [f"{field.name}: a number failed for {v!r}" for v in bad.head(MAX_LISTED)]
        whole = field.dtype == "float64" or not (numbers.isna().any() or (numbers % 1 != 0).any())
        if not whole:
            problems.append(f"{field.name}: whole numbers failed")
        columns[field.name] = numbers.astype(field.dtype) if whole else column
    return pd.DataFrame(columns, index=frame.index), problems


def typed_as_schema(table: schema.Table, frame: pd.DataFrame) -> bool:
    """Whether ``frame`` has exactly the table's columns, its number columns of the schema's types:
    then validating it (``validate_table``) gives it back unchanged, or raises.

    >>> typed_as_schema(schema.REJECTS, schema.REJECTS.empty())
    True
    """
    if list(frame.columns) != table.columns:
        return False
    return all(frame[f.name].dtype == f.dtype for f in table.fields if f.dtype in ("int64", "float64"))


def validate_table(table: schema.Table, frame: pd.DataFrame, sets: dict[str, set[str]] | None = None) -> pd.DataFrame:
    """``frame`` checked against its schema (columns, types, empty values, vocabularies, ranges, key);
    every failure at once in one KpiError.  Returns the frame with its columns of the schema's types."""
    sets = vocabularies() if sets is None else sets
    missing = [c for c in table.columns if c not in frame]
    extra = [c for c in frame.columns if c not in table.columns]
    problems = [f"column {c}: missing" for c in missing] + [f"column {c}: not in the schema" for c in extra]
    if problems:
        raise KpiError(f"{table.name} do not match their schema:\n  " + "\n  ".join(problems))
    frame, problems = _coerced(table, frame)
    for field in table.fields:
        problems += [
            f"{field.name}: {check} failed for {v!r}" for check, v in _field_failures(field, frame[field.name], sets)
        ]
    if table.key:
        twice = frame[frame.duplicated(list(table.key), keep=False)]
        problems += [
            f"key {', '.join(table.key)}: unique failed for {tuple(r)!r}"
            for r in twice[list(table.key)].drop_duplicates().head(MAX_LISTED).itertuples(index=False)
        ]
    if problems:
        listed = problems[:MAX_LISTED] + (
            [f"… and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else []
        )
        raise KpiError(f"{table.name} do not match their schema:\n  " + "\n  ".join(listed))
    return frame


def validate_observations(obs: pd.DataFrame) -> pd.DataFrame:
    """The observations checked against ``kpi.schema.OBSERVATIONS`` and each in its indicator's unit."""
    obs = validate_table(schema.OBSERVATIONS, obs)
    wrong = obs[obs["unit"] != per_distinct(obs["indicator"], lambda i: i.map(reference.catalogue()["unit"]))]
    if len(wrong):
        lines = [
            f"unit: the catalogue unit of {r.indicator} failed for {r.unit!r}"
            for r in wrong.head(MAX_LISTED).itertuples()
        ]
        raise KpiError("observations do not match their schema:\n  " + "\n  ".join(lines))
    return obs


def _codes(column: pd.Series) -> tuple[np.ndarray, list]:
    """``pd.factorize`` with the distinct values as a list; -1: a missing value."""
    codes, distinct = pd.factorize(column)
    return codes, list(distinct)


def _of_codes(values: list, codes: np.ndarray, missing: object) -> np.ndarray:
    """``values[code]`` for each code, ``missing`` for -1 (one lookup per distinct value, spread by codes)."""
    table = np.empty(len(values) + 1, dtype=object if not isinstance(missing, bool) else bool)
    table[: len(values)] = values
    table[-1] = missing
    return table[codes]


def _unsure_breakdowns(obs: pd.DataFrame, complete: dict[str, bool]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of ``obs`` (positions) that ``breakdown_sums`` must look at: the parts, with their
    parent, and the totals of the groups that might not agree with their total, and of one group
    with a total more (that pandas types the tables as it types them over all the rows: the column
    types of an empty table depend on how it was made).

    The keys are hashed once, each column by itself, and the parts summed in one pass
    (``np.bincount``).  These sums may differ from pandas' compensated ones by rounding: a group is
    left out only when it agrees (within ``TOLERANCE``; not above the total where the breakdown is
    not complete; or the total is a lower bound) by more than the rounding of its sum could amount to.
    """
    aggregation = reference.catalogue()["aggregation"]
    parents = reference.area_parents()
    indicator, indicators = _codes(obs["indicator"])
    area, areas = _codes(obs["area_code"])
    source, sources = _codes(obs["source_id"])
    year, years = _codes(obs["year"])
    additive = np.flatnonzero(
        _of_codes([aggregation.get(i) == "sum" for i in indicators], indicator, False)
        & _of_codes(["+" not in a for a in areas], area, False)
        & (source >= 0)
        & (year >= 0)
    )
    # each area's parent in each era, as a place among the areas (parents not among them after them)
    eras = ("pre2025", "post2025")
    era = np.array([eras.index(reference.era_of_year(int(y))) for y in years], dtype=np.int64)
    place = {a: i for i, a in enumerate(areas)}
    parent_names = [[parents.get((a, e), "") for e in eras] for a in areas]
    for name in {n for pair in parent_names for n in pair if n and n not in place}:
        place[name] = len(place)
    parent_place = np.array([[place[n] if n else -1 for n in pair] for pair in parent_names], dtype=np.int64)
    parent_place = parent_place.reshape(len(areas), len(eras))

    rows_area, rows_era = area[additive], era[year[additive]]
    group = (indicator[additive] * len(years) + year[additive]) * len(sources) + source[additive]
    group = pd.factorize(group)[0].astype(np.int64)  # few: kept small so that group × place cannot overflow
    part_place = parent_place[rows_area, rows_era]
    part_key = np.where(part_place >= 0, group * len(place) + part_place, -1)
    total_key = group * len(place) + rows_area

    parts = np.flatnonzero(part_key >= 0)
    codes, groups = pd.factorize(part_key[parts])
    values = obs["value"].to_numpy(dtype="float64")[additive]
    count = np.bincount(codes, minlength=len(groups))
    total = np.bincount(codes, weights=values[parts], minlength=len(groups))
    magnitude = np.bincount(codes, weights=np.abs(values[parts]), minlength=len(groups))
    of_total = pd.Index(groups).get_indexer(total_key)  # the group a row is the total of; -1: none
    totals = np.flatnonzero(of_total >= 0)
    g, value = of_total[totals], values[totals]
    rounding = 4 * (count[g] + 2) * np.finfo(float).eps * (magnitude[g] + np.abs(value))
    diff = total[g] - value
    exact = _of_codes([bool(complete.get(s, False)) for s in sources], source[additive[totals]], False)
    sure = np.where(exact, np.abs(diff), diff) + rounding <= TOLERANCE  # NaN: not sure
    sure |= obs["status"].take(additive[totals]).to_numpy() == "lower_bound"
    totalled = np.zeros(len(part_key), dtype=bool)
    totalled[parts] = np.isin(codes, g)
    keep_parts = whole_groups(part_key, groups[g[~sure]], among=totalled)
    keep_totals = np.isin(total_key, np.unique(part_key[keep_parts]))
    names = np.array(["", *place], dtype=object)  # by place + 1: '' for none
    return additive[keep_parts], names[part_place[keep_parts] + 1], additive[keep_totals]


def breakdown_sums(obs: pd.DataFrame, complete: dict[str, bool]) -> pd.DataFrame:
    """Commune parts against the district total of the same source, indicator and year.

    Only additive indicators are checked.  Where a source lists every commune that has any
    (``complete_breakdown``), parts must add up to the total; elsewhere they must not exceed it.
    """
    part_rows, parents, total_rows = _unsure_breakdowns(obs, complete)
    parent_type = reference.gazetteer().areas["parent"].dtype
    parts = obs.iloc[part_rows].assign(parent=pd.array(parents, dtype=parent_type))
    keys = ["indicator", "year", "source_id", "parent"]
    sums = parts.groupby(keys, as_index=False).agg(parts_value=("value", "sum"), communes=("value", "size"))
    merged = sums.merge(
        obs.iloc[total_rows],
        left_on=["indicator", "year", "source_id", "parent"],
        right_on=["indicator", "year", "source_id", "area_code"],
    )
    exact = merged["source_id"].map(lambda s: complete.get(s, False)).astype(bool)  # bool when empty too
    diff = merged["parts_value"] - merged["value"]
    bad = (exact & (diff.abs() > TOLERANCE)) | (~exact & (diff > TOLERANCE))
    bad &= merged["status"] != "lower_bound"
    return breakdown_findings(merged[bad].reset_index(drop=True))


def breakdown_findings(merged: pd.DataFrame) -> pd.DataFrame:
    """The findings of the groups (sums of parts joined to their totals) whose parts disagree."""
    return pd.DataFrame(
        {
            "check": "breakdown_sum",
            "indicator": merged["indicator"],
            "area_code": merged["area_code"],
            "year": merged["year"],
            "source_id": merged["source_id"],
            "source_ref": merged["source_ref"],
            "unit": merged["unit"],
            "value": merged["value"],
            "expected": merged["parts_value"],
            "other": merged["communes"].map(lambda n: f"{n} communes"),
            "message": [
                f"parts by commune add up to {p} {u} ({n} communes) but the total is {v} {u}"
                for p, u, n, v in zip(
                    plain_numbers(merged["parts_value"].tolist()),
                    merged["unit"].tolist(),
                    merged["communes"].tolist(),
                    plain_numbers(merged["value"].tolist()),
                )
            ],
        },
        columns=FINDINGS.columns,
    )


def identities(obs: pd.DataFrame) -> pd.DataFrame:
    """Declared identities between indicators (``identities.csv``: total = sum of parts)."""
    path = reference.config.reference_dir() / "identities.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    findings = []
    cell = ["area_code", "year", "source_id"]
    for rule in table.itertuples():
        parts = rule.parts.split()
        totals = obs[obs["indicator"] == rule.total]
        given = (
            obs[obs["indicator"].isin(parts)]
            .groupby(cell)
            .agg(parts_value=("value", "sum"), n=("indicator", "nunique"))
            .reset_index()
        )
        merged = totals.merge(given[given["n"] == len(parts)], on=cell)
        for t in merged[(merged["parts_value"] - merged["value"]).abs() > TOLERANCE].itertuples(index=False):
            findings.append(
                {
                    "check": "identity",
                    "indicator": rule.total,
                    "area_code": t.area_code,
                    "year": t.year,
                    "source_id": t.source_id,
                    "source_ref": t.source_ref,
                    "unit": t.unit,
                    "value": t.value,
                    "expected": t.parts_value,
                    "other": " + ".join(parts),
                    "message": (
                        f"{' + '.join(parts)} = {plain_number(t.parts_value)}, "
                        f"but {rule.total} = {plain_number(t.value)}"
                    ),
                }
            )
    return pd.DataFrame(findings, columns=FINDINGS.columns)
