import pandas as pd

from kpi import editions


def obs(values: dict[tuple[str, int], float]) -> pd.DataFrame:
    """Observations at 106 from {(indicator, year): value}."""
    return pd.DataFrame(
        [
            {
                "indicator": i,
                "area_code": "106",
                "year": y,
                "source_id": "s",
                "value": v,
                "unit": "t",
                "status": "reported",
                "source_ref": f"f:{y}",
            }
            for (i, y), v in values.items()
        ]
    )


def test_diff_lists_new_revised_and_gone():
    old = obs(
        {("fish.output", 2022): 146.0, ("tea.output_fresh", 2022): 10200.0, ("crops.food_grain_output", 2022): 41100.0}
    )
    new = obs({("fish.output", 2022): 150.0, ("tea.output_fresh", 2022): 10200.0, ("fish.output", 2023): 160.0})
    out = editions.diff(old, new)
    assert out[["change", "indicator", "year", "old_value", "new_value"]].fillna(-1).values.tolist() == [
        ["gone", "crops.food_grain_output", 2022, 41100.0, -1],
        ["new", "fish.output", 2023, -1, 160.0],
        ["revised", "fish.output", 2022, 146.0, 150.0],
    ]


def test_snapshot_keeps_one_copy_per_version_and_finds_the_previous(tmp_path):
    processed = tmp_path / "processed"
    processed.mkdir()
    obs({("fish.output", 2022): 146.0}).to_parquet(processed / "observations.parquet")
    editions.snapshot("aaa", tmp_path)
    editions.snapshot("aaa", tmp_path)
    assert editions.previous_version("aaa", tmp_path) is None
    obs({("fish.output", 2022): 150.0}).to_parquet(processed / "observations.parquet")
    editions.snapshot("bbb", tmp_path)
    assert list(editions.history(tmp_path)["data_version"]) == ["aaa", "bbb"]
    prev, changes = editions.changes_since_previous(
        pd.read_parquet(processed / "observations.parquet"), "bbb", tmp_path
    )
    assert prev == "aaa" and changes["change"].tolist() == ["revised"]


def test_kpi_ingest_alone_makes_an_edition_and_the_stamp_a_build_reads(data_dir, capsys):
    """kpi ingest and kpi build keep editions and the ingest stamp alike: a build after an ingest
    of the same raw data ingests nothing again."""
    from kpi import ingest, stamps

    version = ingest.run(data_dir).data_version
    assert (editions.folder(data_dir) / f"{version}.parquet").is_file()
    assert stamps.current_version(data_dir) == version
    assert ingest.run_if_changed(data_dir, echo=print) == version
    assert "ingest: skipped" in capsys.readouterr().out
    (data_dir / "raw" / "bc24_new_rural.csv").touch()  # touched, equal content: still current
    assert stamps.current_version(data_dir) == version
