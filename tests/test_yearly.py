"""Yearly updates: the form, `check`, ingest of a new year, the 2025 communes and the export."""

import pandas as pd
import pytest
from openpyxl import load_workbook

from kpi import ingest, reference, reorg
from kpi.check import check_file
from kpi.errors import KpiError
from kpi.export import export
from kpi.template import units_for, write_template

from .yearly import SYNTHETIC, add_to_raw, filled_form


def test_form_lists_the_units_in_force_that_year():
    rows = units_for(2023)
    assert rows[0] == ("106", "TỔNG SỐ - TOTAL")
    assert {c for c, _ in rows[1:]} == {
        "03390",
        "03394",
        "03400",
        "03405",
        "03406",
        "03412",
        "03413",
        "03415",
        "03418",
        "03421",
        "03424",
        "03427",
        "03430",
    }  # 13 units, not Sùng Phài
    assert {c for c, _ in units_for(2026)} == {"03390", "03424", "03405", "03430", "03394", "03408"}


def test_form_has_validation_units_and_instructions(tmp_path):
    path = write_template(2023, tmp_path / "form.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "0_HuongDan"
    ws = wb["2_Che"]
    assert ws["C2"].value == 2023 and ws["D5"].value == "ha" and ws["B6"].value == "TỔNG SỐ - TOTAL"
    rules = {(dv.type, dv.operator, str(dv.sqref)) for dv in ws.data_validations.dataValidation}
    assert ("list", None, "C6:C19") in rules
    assert ("decimal", "greaterThanOrEqual", "D6:D19") in rules
    assert ws.freeze_panes == "D6"


def test_filled_form_checks_clean_and_ingests(tmp_path, data_dir):
    form = filled_form(2023, tmp_path / "tam_duong_2023.xlsx")
    assert check_file(form).ok
    add_to_raw(form, data_dir / "raw")
    result = ingest.run(data_dir)
    assert result.rejects.empty
    new = result.observations[result.observations["source_id"] == "tam_duong_2023"]
    assert set(new["year"]) == {2023} and len(new) > 100
    derived = new[new["status"] == "derived"]
    assert set(new["status"]) == {"reported", "derived"}
    assert set(derived["indicator"]) <= set(reference.catalogue().query("numerator != ''").index)  # yields, shares
    wb = load_workbook(form)
    assert wb.properties.subject == SYNTHETIC


def test_check_reports_renamed_column_unknown_commune_and_text_value(tmp_path):
    form = filled_form(2023, tmp_path / "bad.xlsx")
    wb = load_workbook(form)
    ws = wb["2_Che"]
    ws["E4"] = "Diện tích chè KD - Tea area in harvest"
    ws["B8"] = "Bản Hoon"
    ws["D7"] = "khoảng mười"
    wb.save(form)
    report = check_file(form)
    assert not report.ok
    lines = report.lines()
    assert (
        "sheet '2_Che': column 'Diện tích chè kinh doanh - Tea area in harvest' not found in header row 4; "
        "closest: 'Diện tích chè KD - Tea area in harvest'" in lines[1]
    )
    text = "\n".join(lines)
    assert "unknown column 'Diện tích chè KD - Tea area in harvest' at E4" in text
    assert "bad.xlsx!2_Che!D7: 'khoảng mười': 'khoảng mười' is not a number; expected a number in ha" in text
    assert "unknown area 'Bản Hoon'; closest known name: 'Xã Bản Hon'" in text


def test_post_2025_workbook_joins_the_old_series(tmp_path, data_dir):
    add_to_raw(filled_form(2026, tmp_path / "tam_duong_2026.xlsx", seed=7), data_dir / "raw")
    result = ingest.run(data_dir)
    assert result.rejects.empty
    series = reorg.series_in_new_units(result.observations)
    tanks = series[
        (series["indicator"] == "fish.tanks")
        & (series["area_code"] == "03390")
        & (series["source_id"].isin(["bc24_annex", "tam_duong_2026"]))
    ]
    assert sorted(tanks["year"]) == [2022, 2026]
    old = tanks[tanks["year"] == 2022].iloc[0]
    assert (old["value"], old["status"]) == (323, "derived")  # Sơn Bình's 323 tanks, now in Xã Bình Lư
    assert "Xã Sơn Bình 323" in old["note"]


def test_reaggregation_sums_additive_and_refuses_yields():
    obs = pd.DataFrame(
        {
            "indicator": "livestock.farms_cattle_15plus",
            "area_code": ["03390", "03413", "03412"],
            "area_name": "x",
            "year": 2022,
            "value": [2.0, 4.0, 1.0],
            "unit": "facility",
            "status": "reported",
            "source_id": "s",
            "source_ref": ["a", "b", "c"],
            "note": "",
        }
    )
    out = reorg.to_new_units(obs)
    assert out[["area_code", "value", "status"]].values.tolist() == [["03390", 7.0, "derived"]]
    with pytest.raises(
        KpiError, match=r"cannot re-aggregate tea\.yield \(from tea\.output_fresh and tea\.area_harvest\)"
    ):
        reorg.to_new_units(obs, ["tea.yield"])


def test_export_reads_back_with_vietnamese_numbers(tmp_path, ingested):
    from kpi.changes import compare

    changes = compare(ingested.observations, 2012, 2022, priority=dict.fromkeys(ingested.sources["source_id"], 1))
    path = export(changes, tmp_path / "changes.xlsx", 2012, 2022)
    wb = load_workbook(path)
    assert wb.sheetnames == [
        "Trồng trọt lương thực có hạt",
        "Cây chè",
        "Chăn nuôi tập trung",
        "Cá nước lạnh",
        "Sáng kiến, OCOP, mô hình và liê",
    ]
    rows = {r[0]: r for r in wb["Trồng trọt lương thực có hạt"].iter_rows(min_row=2, values_only=True)}
    grain = rows["Sản lượng lương thực có hạt"]
    assert grain[4:7] == ("37.015\u00a0t", "41.100\u00a0t", "+4.085\u00a0t")
    assert grain[9].startswith("tính từ số liệu in") and grain[13:15] == (37015, 41100)
    ws = wb["Cây chè"]
    assert ws.freeze_panes == "C2" and ws.column_dimensions["A"].width >= len(
        "Diện tích chè chứng nhận Rainforest Alliance"
    )
