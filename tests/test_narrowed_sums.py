"""The sums of units that ingest works out only where they can matter give what summing every
group gives.

``validate.breakdown_sums`` sums the parts of every group in one pass and checks with pandas only
the groups that might disagree with their total; ``derive.district_totals`` sums only the groups
whose district has no total.  Both are held here to plain versions that sum every group: the
breakdown check as it was written before (pandas over all the rows, kept here as the oracle), the
district totals against ``derive.unit_sums``.  The observations are those of a SYNTHETIC set
(``benchmarks/synth.py``: two districts × two years, fixed seed) and of the shipped data, changed
with fixed seeds: values moved by less and by more than the tolerance, missing values, lower
bounds, breakdowns complete or not, district totals taken away.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from kpi import config, derive, ingest, reference, validate


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, str]:
    sys.path.insert(0, str(config.PROJ_ROOT / "benchmarks"))
    try:
        import synth
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp("synthetic")
    folder = str(synth.reference_folder(root / "reference", 2))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KPI_REFERENCE_DIR", folder)
        synth.write_forms(root / "data" / "raw", synth.districts(2), [2012, 2022], text_share=0.3)
        return ingest.run(root / "data").observations, folder


@pytest.fixture(params=["synthetic", "shipped"])
def observations(request, monkeypatch, ingested) -> pd.DataFrame:
    if request.param == "shipped":
        return ingested.observations
    obs, folder = request.getfixturevalue("synthetic")
    monkeypatch.setenv("KPI_REFERENCE_DIR", folder)
    return obs


def plain_breakdown_sums(obs: pd.DataFrame, complete: dict[str, bool]) -> pd.DataFrame:
    """The breakdown check over every group with pandas (as ``breakdown_sums`` was first written);
    the findings of the groups it flags are made by the same ``breakdown_findings``."""
    cat = reference.catalogue()
    areas = reference.gazetteer().areas
    additive = obs[
        (obs["indicator"].map(cat["aggregation"]) == "sum") & ~obs["area_code"].str.contains("+", regex=False)
    ]
    era = additive["year"].map(reference.era_of_year)
    links = areas[["code", "era", "parent"]]
    every_era = (
        links[links["era"].isin(["all", "former"])]
        .drop(columns="era")
        .merge(pd.DataFrame({"era": ["pre2025", "post2025"]}), how="cross")
    )
    parent = (
        additive[["area_code"]]
        .assign(era=era)
        .merge(
            pd.concat([links, every_era]).drop_duplicates(["code", "era"]),
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
    merged = sums.merge(additive, left_on=keys, right_on=["indicator", "year", "source_id", "area_code"])
    exact = merged["source_id"].map(lambda s: complete.get(s, False)).astype(bool)
    diff = merged["parts_value"] - merged["value"]
    bad = ((exact & (diff.abs() > validate.TOLERANCE)) | (~exact & (diff > validate.TOLERANCE))) & (
        merged["status"] != "lower_bound"
    )
    return validate.breakdown_findings(merged[bad].reset_index(drop=True))


def changed(obs: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, dict[str, bool]]:
    """``obs`` with values moved (below and above the tolerance), some missing, some lower bounds,
    some district totals gone, and a breakdown complete for about half the sources."""
    rng = np.random.default_rng(seed)
    value = obs["value"].to_numpy(dtype="float64").copy()
    moved = rng.random(len(obs)) < 0.15
    value[moved] += rng.choice([1e-9, 4e-7, -4e-7, 3e-6, -3e-6, 1.0, -2.5], moved.sum())
    value[rng.random(len(obs)) < 0.01] = np.nan
    status = obs["status"].to_numpy().copy()
    status[rng.random(len(obs)) < 0.05] = "lower_bound"
    out = obs.assign(value=value, status=pd.array(status, dtype=obs["status"].dtype))
    areas = reference.gazetteer().areas
    district = out["area_code"].isin(set(areas.loc[areas["level"] == "district", "code"]))
    out = out[~(district & (rng.random(len(out)) < 0.1))]
    return out, {s: bool(rng.random() < 0.5) for s in set(out["source_id"])}


def test_breakdown_sums_find_what_summing_every_group_finds(observations):
    found = 0
    for seed in range(6):
        obs, complete = changed(observations, seed)
        got, want = validate.breakdown_sums(obs, complete), plain_breakdown_sums(obs, complete)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert list(got.dtypes) == list(want.dtypes)  # they decide the types of the findings joined to them
        found += len(got)
    assert found > 0  # the changes were seen


def test_breakdown_sums_unchanged_data_as_every_group_gives(observations):
    complete = dict.fromkeys(set(observations["source_id"]), True)
    got = validate.breakdown_sums(observations, complete)
    pd.testing.assert_frame_equal(got, plain_breakdown_sums(observations, complete), check_exact=True)
    assert list(got.dtypes) == list(plain_breakdown_sums(observations, complete).dtypes)


def test_breakdown_sums_with_no_total_at_all_find_nothing(observations):
    """Parts by commune and no total for any of them (text columns of pandas' string type): nothing
    to compare, no error (the check once failed here on the empty table's types)."""
    areas = reference.gazetteer().areas
    districts = set(areas.loc[areas["level"] == "district", "code"])
    obs = observations[~observations["area_code"].isin(districts)]
    obs = obs.astype(dict.fromkeys(["indicator", "area_code", "source_id", "unit", "status"], "str"))
    assert validate.breakdown_sums(obs, dict.fromkeys(set(obs["source_id"]), True)).empty


def test_district_totals_are_the_complete_sums_without_a_total(observations, request):
    derived = 0
    for seed in range(4):
        obs, _ = changed(observations, seed)
        obs = obs[obs["status"] != "derived"]  # the totals ingest derived: derived again here
        got = derive.district_totals(obs)
        sums = derive.unit_sums(obs)
        sums = sums[sums["units"] == sums["expected"]]
        given = set(zip(obs["indicator"], obs["area_code"], obs["year"], obs["source_id"]))
        keys = zip(sums["indicator"], sums["district"], sums["year"], sums["source_id"])
        want = sums[np.array([key not in given for key in keys], dtype=bool)]
        assert got["indicator"].tolist() == want["indicator"].tolist()
        assert got["area_code"].tolist() == want["district"].tolist()
        assert got["year"].tolist() == want["year"].tolist()
        np.testing.assert_array_equal(got["value"].to_numpy(), want["value"].to_numpy())
        assert got["status"].tolist() == want["status"].tolist()
        assert got["source_ref"].tolist() == [f"sum of {n} units: {r}" for n, r in zip(want["units"], want["ref"])]
        derived += len(got)
    if request.node.callspec.params["observations"] == "synthetic":  # the report lists some communes only
        assert derived > 0  # totals were taken away and derived again
