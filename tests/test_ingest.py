"""End to end: the shipped raw data ingested, report figures asserted by value, area, year and unit."""

import json
import subprocess
import sys

import pandas as pd
import pytest


def value(result, indicator, area, year, source=None):
    obs = result.observations
    rows = obs[(obs["indicator"] == indicator) & (obs["area_code"] == area) & (obs["year"] == year)]
    if source:
        rows = rows[rows["source_id"] == source]
    assert len(rows) == 1, f"{indicator} {area} {year}: {len(rows)} rows"
    return rows.iloc[0]


@pytest.mark.parametrize(
    "indicator, area, year, expected, unit, status",
    [
        pytest.param("crops.food_grain_output", "106", 2022, 41100, "t", "reported", id="food-grain-2022"),
        pytest.param("crops.food_grain_output", "106", 2012, 37015, "t", "derived", id="food-grain-2012-derived"),
        pytest.param("tea.area", "106", 2022, 1947, "ha", "reported", id="tea-area"),
        pytest.param("tea.output_fresh", "106", 2012, 3407, "t", "derived", id="tea-output-2012-derived"),
        pytest.param("tea.area_rainforest", "106", 2022, 74.03, "ha", "reported", id="rainforest"),
        pytest.param("tea.area_vietgap", "106", 2022, 30.7, "ha", "reported", id="vietgap"),
        pytest.param("livestock.farms_cattle_15plus", "03413", 2022, 4, "facility", "reported", id="son-binh-cattle"),
        pytest.param("livestock.farms_pig_50plus", "03421", 2022, 1, "facility", "reported", id="ban-hon-pigs"),
        pytest.param("fish.tanks", "03424", 2022, 52, "tank", "reported", id="ban-bo-tanks"),
        pytest.param("fish.tank_volume", "106", 2022, 18000, "m3", "reported", id="volume-m3"),
        pytest.param("fish.output_per_m3", "106", 2022, 146 / 18000 * 1000, "kg/m3", "derived", id="output-per-m3"),
        pytest.param("dissemination.party_members_share", "106", 2022, 1902 / 1944 * 100, "%", "derived", id="97.8"),
        pytest.param("nrd.share_standard", "106", 2022, 8 / 12 * 100, "%", "derived", id="66.7"),
        pytest.param("initiatives.recognised", "106", 2022, 1543, "initiative", "reported", id="initiatives"),
        pytest.param("pilot.training_households", "106", 2022, 1350, "household", "lower_bound", id="over-1350"),
        pytest.param("tea.yield", "106", 2015, 5.14, "t/ha", "reported", id="yield-ta-per-ha-converted"),
        pytest.param("tea.area", "03413+03427", 2018, 150, "ha", "lower_bound", id="two-communes-over-150"),
    ],
)
def test_report_figures(ingested, indicator, area, year, expected, unit, status):
    row = value(ingested, indicator, area, year)
    assert (row["value"], row["unit"], row["status"]) == (pytest.approx(expected), unit, status)


def test_commune_breakdown_sums_to_the_district_total(ingested):
    obs = ingested.observations
    tanks = obs[(obs["indicator"] == "fish.tanks") & (obs["source_id"] == "bc24_annex")]
    communes = tanks[tanks["area_code"] != "106"]
    assert sorted(communes["area_code"]) == ["03406", "03413", "03424"]
    assert communes["value"].sum() == tanks.loc[tanks["area_code"] == "106", "value"].item() == 388
    farms = obs[(obs["indicator"] == "livestock.farms_cattle_15plus") & (obs["area_code"] != "106")]
    assert farms["value"].sum() == 9


def test_every_row_is_traceable(ingested):
    obs = ingested.observations
    assert (obs["source_id"] != "").all() and (obs["source_ref"] != "").all()
    assert value(ingested, "tea.area", "106", 2022)["source_ref"] == "bc24_annex.xlsx!02_Che!C7"
    derived = value(ingested, "crops.food_grain_output", "106", 2012)
    assert derived["source_ref"] == "bc24_annex.xlsx!01_LuongThuc!C7 − bc24_annex.xlsx!01_LuongThuc!D7"


def test_no_rejects_and_the_known_findings(ingested):
    assert ingested.rejects.empty
    checks = set(zip(ingested.findings["check"], ingested.findings["indicator"]))
    assert ("printed_ratio", "dissemination.officials_share") in checks  # 93.7 printed, 93.77 computed
    assert ("same_value_other_year", "tea.output_fresh") in checks  # 10,200 t: 2021 estimate reused
    assert ("printed_ratio", "dissemination.party_members_share") not in checks  # 97.8 is right


def test_conflicts_between_sources(ingested):
    pairs = set(zip(ingested.conflicts["indicator"], ingested.conflicts["other_source"]))
    assert {("fish.output", "public_facts"), ("ocop.products", "public_facts"), ("fish.tanks", "public_facts")} <= pairs
    fish = ingested.conflicts[ingested.conflicts["indicator"] == "fish.output"].iloc[0]
    assert (fish["chosen_value"], fish["other_value"], fish["other_status"]) == (146, 300, "lower_bound")


def test_outputs_are_written(ingested):
    out = ingested.out_dir
    for name in [
        "observations.csv",
        "observations.parquet",
        "rejects.csv",
        "findings.csv",
        "conflicts.csv",
        "validation.json",
        "validation.md",
        "datapackage.json",
        "lists/ocop_products.csv",
    ]:
        assert (out / name).is_file(), name
    parquet = pd.read_parquet(out / "observations.parquet")
    assert len(parquet) == len(ingested.observations)
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    assert fields["value"]["type"] == "number" and "catalogue unit" in fields["value"]["description"]
    report = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert report["observations"] == len(ingested.observations) and report["rejects"] == []


def test_cli_ingest_exits_zero_and_prints_a_summary(data_dir):
    run = subprocess.run(
        [sys.executable, "-m", "kpi.cli", "ingest", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "rejects: 0" in run.stdout and "conflicts between sources:" in run.stdout
    assert "by theme:  crops" in run.stdout


def test_the_command_exits_with_the_code_of_main_and_frozen_objects(tmp_path, monkeypatch, capsys):
    import gc

    from kpi import cli

    missing = tmp_path / "no-such-data"
    monkeypatch.setattr(sys, "argv", ["kpi", "ingest", "--data-dir", str(missing)])
    expected = cli.main(["ingest", "--data-dir", str(missing)])
    assert expected != 0
    try:
        with pytest.raises(SystemExit) as stop:
            cli.command()
        assert stop.value.code == expected
        assert gc.get_freeze_count() > 0  # the exit skips a last collection over all of them
    finally:
        gc.unfreeze()
    assert capsys.readouterr().err.count("kpi ingest: error:") == 2


def test_failed_run_leaves_previous_outputs_intact(data_dir, monkeypatch):
    from kpi import ingest

    ingest.run(data_dir)
    before = (data_dir / "processed" / "observations.csv").read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(ingest, "write_json", crash)
    with pytest.raises(OSError, match="simulated"):
        ingest.run(data_dir)
    assert (data_dir / "processed" / "observations.csv").read_bytes() == before
    assert not list(data_dir.glob(".processed.staging-*"))


def test_the_observations_hold_their_text_as_arrow_text(ingested):
    """Every text column of the derived observations is pandas' Arrow text (``kpi.columns.arrow_text``):
    what the checks and the writers hash, sort and join."""
    from kpi.clean import TEXT

    obs = ingested.observations
    assert all(obs[name].dtype == "str" and obs[name].dtype.storage == "pyarrow" for name in TEXT)
    assert obs["year"].dtype == "int64" and obs["value"].dtype == "float64"


def test_files_columns_are_joined_as_they_are_or_as_objects():
    """Files' columns come as Arrow text and numbers (``as_arrays``); a file whose column holds other
    values gives it as a list, and that column of the joined table is then of Python objects."""
    from kpi.clean import KEPT, Cleaned, as_arrays, observations_frame

    def cleaned(note: list) -> Cleaned:
        row = {"indicator": "tea.area", "area_code": "106", "area_name": "Huyện Tam Đường", "year": 2022,
               "value": 3.0, "unit": "ha", "status": "reported", "source_id": "s", "source_ref": "f.csv:2",
               "base_year": None}  # fmt: skip
        columns = {name: [row[name]] * len(note) for name in KEPT if name != "note"}
        return Cleaned(as_arrays({**columns, "note": note}), [], 0)

    obs, base = observations_frame([cleaned(["", None]), cleaned(["x"])])
    assert obs["note"].dtype == "str" and obs["note"].isna().tolist() == [False, True, False]
    assert obs["note"].iloc[[0, 2]].tolist() == ["", "x"]
    assert obs["year"].tolist() == [2022] * 3 and obs["value"].dtype == "float64" and base.isna().all()
    mixed, _ = observations_frame([cleaned(["", None]), cleaned([7])])
    assert mixed["note"].dtype == object and mixed["note"].tolist() == ["", None, 7]
    assert mixed["indicator"].dtype == "str"


def test_the_time_of_the_schema_validation_is_told_apart(ingested):
    """What ``make bench`` reports as the validation's share of an ingest: within derive and check."""
    assert 0 < ingested.validation_seconds < ingested.stages["derive and check"] < ingested.seconds
