"""Schemas of the processed tables (pandera) and consistency checks that give findings.

Schema failures are errors: the run stops and nothing is written.  Consistency checks
(commune parts against district totals, declared identities such as 3 + 211 = 214
conferences) give *findings*: listed in the validation report, not fatal, because a
printed report can disagree with itself and the package must show it, not hide it.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from kpi import config, reference
from kpi.derive import FINDING_COLUMNS, plain_number
from kpi.errors import KpiError

TOLERANCE = 1e-6  # sums of printed integers must match exactly, up to float noise


def observations_schema() -> pa.DataFrameSchema:
    """Schema of ``observations.csv``: types, closed vocabularies and the unique key."""
    cat = reference.catalogue()
    areas = set(reference.gazetteer().areas["code"])
    units = set(reference.units()["unit"])
    return pa.DataFrameSchema(
        {
            "indicator": pa.Column(str, pa.Check.isin(list(cat.index))),
            "area_code": pa.Column(str, pa.Check.isin(sorted(areas))),
            "area_name": pa.Column(str, pa.Check.str_length(min_value=1)),
            "year": pa.Column("int64", pa.Check.in_range(config.MIN_YEAR, config.MAX_YEAR)),
            "value": pa.Column(float, [pa.Check(lambda s: s.abs() < 1e12, error="finite, plausible magnitude")]),
            "unit": pa.Column(str, pa.Check.isin(sorted(units))),
            "status": pa.Column(str, pa.Check.isin(list(reference.STATUSES))),
            "source_id": pa.Column(str, pa.Check.str_length(min_value=1)),
            "source_ref": pa.Column(str, pa.Check.str_length(min_value=1)),
            "note": pa.Column(str, nullable=True),
        },
        checks=[
            pa.Check(
                lambda df: df["unit"] == df["indicator"].map(cat["unit"]),
                error="unit must be the catalogue unit of the indicator",
            )
        ],
        unique=["indicator", "area_code", "year", "source_id"],
        strict=True,
        coerce=True,
        name="observations",
    )


def validate_observations(obs: pd.DataFrame) -> pd.DataFrame:
    """Check the observations table against its schema, every failure at once."""
    try:
        return observations_schema().validate(obs, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.head(20)
        lines = [f"{r.column}: {r.check} failed for {r.failure_case!r}" for r in cases.itertuples()]
        raise KpiError("observations do not match their schema:\n  " + "\n  ".join(lines)) from None


def breakdown_sums(obs: pd.DataFrame, complete: dict[str, bool]) -> pd.DataFrame:
    """Commune parts against the district total of the same source, indicator and year.

    Only additive indicators are checked.  Where a source lists every commune that has any
    (``complete_breakdown``), parts must add up to the total; elsewhere they must not exceed it.
    """
    cat = reference.catalogue()
    areas = reference.gazetteer().areas
    additive = obs[
        (obs["indicator"].map(cat["aggregation"]) == "sum") & ~obs["area_code"].str.contains("+", regex=False)
    ]
    era = additive["year"].map(reference.era_of_year)
    links = areas[["code", "era", "parent"]]
    parent = (
        additive[["area_code"]]
        .assign(era=era)
        .merge(
            pd.concat(
                [
                    links,
                    links[links["era"].isin(["all", "former"])]
                    .drop(columns="era")
                    .merge(pd.DataFrame({"era": ["pre2025", "post2025"]}), how="cross"),
                ]
            ).drop_duplicates(["code", "era"]),
            left_on=["area_code", "era"],
            right_on=["code", "era"],
            how="left",
        )["parent"]
        .fillna("")
    )
    parts = additive.assign(parent=parent.values)
    parts = parts[parts["parent"] != ""]
    keys = ["indicator", "year", "source_id", "parent"]
    sums = parts.groupby(keys, as_index=False).agg(parts_value=("value", "sum"), communes=("value", "size"))
    merged = sums.merge(
        additive,
        left_on=["indicator", "year", "source_id", "parent"],
        right_on=["indicator", "year", "source_id", "area_code"],
    )
    exact = merged["source_id"].map(lambda s: complete.get(s, False))
    diff = merged["parts_value"] - merged["value"]
    bad = (exact & (diff.abs() > TOLERANCE)) | (~exact & (diff > TOLERANCE))
    bad &= merged["status"] != "lower_bound"
    merged = merged[bad]
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
                f"parts by commune add up to {plain_number(p)} {u} ({n} communes) "
                f"but the total is {plain_number(v)} {u}"
                for p, u, n, v in zip(merged["parts_value"], merged["unit"], merged["communes"], merged["value"])
            ],
        },
        columns=FINDING_COLUMNS,
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
    return pd.DataFrame(findings, columns=FINDING_COLUMNS)
