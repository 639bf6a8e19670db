"""A form whose TOTAL row is left empty: ingest derives the district total of additive indicators
from the 13 units (status derived, the units' range as its source); kpi check warns when the
TOTAL row is empty or differs from the sum of its units."""

from __future__ import annotations

from openpyxl import load_workbook

from kpi import ingest
from kpi.check import check_file

from .yearly import add_to_raw, filled_form

SHEET = "3_ChanNuoi"  # livestock farms: additive counts; D = cattle farms over 15 head
TOTAL_ROW, FIRST_UNIT, LAST_UNIT = 6, 7, 19


def form_with_total(tmp_path, edit) -> tuple:
    """The 2023 form (SYNTHETIC figures) with its TOTAL row on the livestock sheet changed by ``edit``;
    returns the file and the sum of column D over the 13 units."""
    form = filled_form(2023, tmp_path / "tam_duong_2023.xlsx")
    wb = load_workbook(form)
    ws = wb[SHEET]
    assert ws.cell(TOTAL_ROW, 1).value == "106" and ws.cell(LAST_UNIT, 1).value.startswith("03")
    units = sum(ws.cell(r, 4).value for r in range(FIRST_UNIT, LAST_UNIT + 1))
    edit(ws, units)
    wb.save(form)
    return form, units


def empty_total(ws, _units) -> None:
    for col in range(4, 7):
        ws.cell(TOTAL_ROW, col).value = None


def test_empty_total_row_is_derived_from_all_units(tmp_path, data_dir):
    form, units = form_with_total(tmp_path, empty_total)
    add_to_raw(form, data_dir / "raw")
    result = ingest.run(data_dir)
    assert result.rejects.empty
    obs = result.observations
    total = obs[
        (obs["indicator"] == "livestock.farms_cattle_15plus")
        & (obs["area_code"] == "106")
        & (obs["source_id"] == "tam_duong_2023")
    ]
    assert total[["year", "value", "status", "source_ref"]].values.tolist() == [
        [2023, float(units), "derived", f"sum of 13 units: tam_duong_2023.xlsx!{SHEET}!D{FIRST_UNIT}:D{LAST_UNIT}"]
    ]
    livestock = result.findings[result.findings["indicator"].str.startswith("livestock.")]
    assert livestock[livestock["year"] == 2023].empty  # the derived total agrees with its parts


def test_check_warns_about_an_empty_total_row_and_passes(tmp_path):
    form, units = form_with_total(tmp_path, empty_total)
    report = check_file(form)
    assert report.ok
    line = next(w for w in report.warnings if "livestock.farms_cattle_15plus" in w)
    assert line.startswith(f"tam_duong_2023.xlsx!{SHEET}!D{TOTAL_ROW} ")
    assert "is empty" in line and f" {units:,} facility" in line and f"!D{FIRST_UNIT}:D{LAST_UNIT}" in line
    assert len(report.warnings) == 3  # D, E and F of the TOTAL row
    assert report.lines()[0].endswith("; 3 warning(s)")


def test_check_warns_when_the_total_differs_from_its_units(tmp_path):
    form, units = form_with_total(tmp_path, lambda ws, units: setattr(ws.cell(TOTAL_ROW, 4), "value", units + 5))
    warnings = check_file(form).warnings
    assert len(warnings) == 1
    assert warnings[0].startswith(f"tam_duong_2023.xlsx!{SHEET}!D{TOTAL_ROW} ")
    assert f"is {units + 5:,} facility" in warnings[0] and f"add up to {units:,} facility" in warnings[0]


def test_no_total_is_derived_when_a_unit_has_no_figure(tmp_path, data_dir):
    def empty_total_and_one_unit(ws, units):
        empty_total(ws, units)
        ws.cell(LAST_UNIT, 4).value = None

    form, _ = form_with_total(tmp_path, empty_total_and_one_unit)
    warning = next(w for w in check_file(form).warnings if "livestock.farms_cattle_15plus" in w)
    assert "is empty and 1 of its 13 units have no figure" in warning
    add_to_raw(form, data_dir / "raw")
    obs = ingest.run(data_dir).observations
    assert obs[
        (obs["indicator"] == "livestock.farms_cattle_15plus") & (obs["area_code"] == "106") & (obs["year"] == 2023)
    ].empty
