"""The status 'preliminary' (sơ bộ): read from the form's status column and from the words of a
cell, accepted by the schema, ranked between reported and derived, shown in the export, and an
official figure replacing it is named as such between editions."""

from __future__ import annotations

import pandas as pd
from openpyxl import load_workbook

from kpi import editions, ingest
from kpi.changes import compare
from kpi.check import check_file
from kpi.export import build_workbook
from kpi.sources import pick
from kpi.text import parse_number

from .yearly import add_to_raw, filled_form

PRELIMINARY = "Sơ bộ - Preliminary"


def form_with_status(path, status: str, change: int = 0):
    """The 2023 form (SYNTHETIC figures) with every tea row given ``status``; ``change`` is added to
    the district's tea area (an official figure that differs from the preliminary one)."""
    form = filled_form(2023, path)
    wb = load_workbook(form)
    ws = wb["2_Che"]
    for r in range(6, 20):
        ws.cell(r, 3).value = status
    ws["D6"] = ws["D6"].value + change
    wb.save(form)
    return form


def test_preliminary_rows_of_a_form_are_preliminary(tmp_path, data_dir):
    form = form_with_status(tmp_path / "tam_duong_2023.xlsx", PRELIMINARY)
    assert check_file(form).ok
    add_to_raw(form, data_dir / "raw")
    obs = ingest.run(data_dir).observations
    mine = obs[obs["source_id"] == "tam_duong_2023"]
    tea = mine[mine["source_ref"].str.contains("!2_Che!")]
    assert len(tea) > 20 and set(tea["status"]) == {"preliminary"}
    assert "estimate" not in set(mine["status"])
    yields = mine[(mine["indicator"] == "tea.yield") & (mine["area_code"] == "106")]
    assert yields["status"].tolist() == ["preliminary"]  # a ratio of preliminary parts is preliminary


def test_words_in_a_cell_say_preliminary():
    read = parse_number("sơ bộ 1.234")
    assert (read.value, read.status) == (1234.0, "preliminary")


def test_preliminary_ranks_after_reported_and_before_derived():
    obs = pd.DataFrame(
        {
            "indicator": "tea.area",
            "area_code": "106",
            "year": 2023,
            "value": [10.0, 11.0, 12.0],
            "status": ["derived", "preliminary", "reported"],
            "source_id": ["a", "b", "c"],
        }
    )
    priority = {"a": 1, "b": 1, "c": 1}
    assert pick(obs, priority)["source_id"].tolist() == ["c"]
    assert pick(obs.iloc[:2], priority)["source_id"].tolist() == ["b"]


def test_official_figure_replacing_a_preliminary_one_is_named(tmp_path, data_dir):
    add_to_raw(form_with_status(tmp_path / "tam_duong_2023.xlsx", PRELIMINARY), data_dir / "raw")
    before = ingest.run(data_dir).observations
    (tmp_path / "official").mkdir()
    add_to_raw(
        form_with_status(tmp_path / "official" / "tam_duong_2023.xlsx", "Chính thức - Official", change=7),
        data_dir / "raw",
    )
    after = ingest.run(data_dir).observations
    changed = editions.diff(before, after)
    tea = changed[changed["indicator"].str.startswith("tea.") & (changed["area_code"] == "106")].set_index("indicator")
    assert tea.loc["tea.area", ["change", "revision", "old_status", "new_status"]].tolist() == [
        "revised",
        "preliminary_replaced",
        "preliminary",
        "reported",
    ]
    assert tea.loc["tea.area", "new_value"] - tea.loc["tea.area", "old_value"] == 7
    assert tea.loc["tea.output_fresh", ["change", "revision"]].tolist() == ["revised", "preliminary_confirmed"]
    assert set(changed.loc[~changed["indicator"].str.startswith("tea."), "revision"]) <= {""}


def test_export_names_the_status_in_both_languages():
    obs = pd.DataFrame(
        {
            "indicator": "tea.area",
            "area_code": "106",
            "area_name": "Huyện Tam Đường",
            "year": [2012, 2023],
            "value": [1500.0, 1947.0],
            "unit": "ha",
            "status": ["reported", "preliminary"],
            "source_id": "s",
            "source_ref": ["a!C7", "b!D6"],
        }
    )
    wb = build_workbook(compare(obs, 2012, 2023, priority={"s": 1}), 2012, 2023)
    row = next(r for r in wb["Cây chè"].iter_rows(min_row=2, values_only=True))
    assert row[10] == "sơ bộ - preliminary" and row[9].startswith("số in trong nguồn")
