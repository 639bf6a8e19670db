"""Hostile cells: every value that cannot be used goes to rejects.csv with its cell, raw value and
reason; the run exits 1, writes everything else, and keeps no value silently wrong or twice.

One workbook (the shipped annex, edited) and one SYNTHETIC records CSV carry all the bad cells at
once, so one run also proves that every problem of a file is reported together.
"""

from __future__ import annotations

import datetime
import shutil
from dataclasses import replace

import pandas as pd
import pytest

from kpi import config, layouts, reference
from kpi.extract import extract
from kpi.layouts import Layout
from kpi.reference import SourceRecord

from .test_hostile_kit import (
    ANNEX,
    RECORDS_HEADER,
    edited_annex,
    ods_file,
    ods_number,
    ods_row,
    ods_text,
    put_raw,
    rejects_of,
    replace_annex,
    run_ingest,
)

WB = f"{ANNEX}!"
CSV = "hostile_records.csv"
HIDDEN_ROW = "row 14 is hidden: a figure nobody sees on screen is not used; unhide the row (or delete it) and run again"
NO_FIGURE = "(leave the cell empty or type '-' when there is no figure)"


def hostile_annex(wb) -> None:
    """Bad cells typed into the shipped annex, as an office might (rows 8-14 of 03_ChanNuoi are communes)."""
    ws = wb["03_ChanNuoi"]
    ws["C9"] = "khoảng 2"  # Thị trấn: an estimate, read as such
    ws["D9"] = "n/a"
    ws["E10"] = datetime.date(2022, 5, 1)  # Excel turned "1.5" or "1/5" into a date
    ws["C11"] = -2
    ws["D12"] = "1e20"
    ws["E12"] = 1e20
    ws["C13"] = "2 ha"  # a unit of another dimension in a column of farms
    ws["D13"] = "1,947"
    ws["E13"] = "NaN"
    ws.row_dimensions[14].hidden = True  # Thèn Sin: E14 holds 01, C14 and D14 a dash
    ws.insert_rows(15, 6)
    extra = [
        ("Sơn Bình", "03", None, None),  # listed twice (row 8)
        ("Xã Bản Hon", None, None, "01"),  # official name of "Bản Hòn" (row 11): the same commune
        ("Bản Xyz", "01", None, None),  # unknown
        ("Na\u0300 Tă\u0300m  ", "01", None, None),  # decomposed (NFD) with trailing spaces
        ("  KHUN HÁ  ", None, "02", None),  # all caps, spaces around
        ("Giang Ma", "74.03", None, None),
    ]  # English decimal point
    for r, (name, c, d, e) in enumerate(extra, start=15):
        ws[f"B{r}"], ws[f"C{r}"], ws[f"D{r}"], ws[f"E{r}"] = name, c, d, e
    ws = wb["04_CaNuocLanh"]
    ws["F8"] = "1.200 kg"  # output column is in tấn: kg is convertible, but mixed
    ws["F9"] = "15 sào"
    ws["G6"] = "cái"  # a unit the unit table does not know (G7 = 14)
    ws.column_dimensions["H"].hidden = True  # H7 = 12
    ws["D9"] = "#DIV/0!"  # an error value (calamine reads it as an empty cell)
    ws.merge_cells("C9:C10")  # farms of Hồ thầu and Bản Bo merged into one cell
    ws["E8"] = "=E7/2"  # a formula openpyxl saves without a cached value
    ws = wb["02_Che"]
    ws["G7"] = "54 ha"  # a unit in the cell that is the column's unit: fine
    ws.merge_cells("A7:B7")  # the total label merged over STT and name: fine
    ws["A7"] = "TỔNG SỐ - TOTAL"


RECORDS = [  # SYNTHETIC lines of a records CSV (line 2 onwards)
    "nrd.share_standard.printed,,Huyện Tam Đường,2021,120,%,§test,",
    "tea.area,,Huyện Tam Đường,2019,khoảng 1.500,ha,§test,",
    "tea.area,,Huyện Tam Đường,2017,1.947,ha,§test,",
    'tea.area,,Huyện Tam Đường,2020,"1,947",ha,§test,',
    "tea.area,,Huyện Tam Đường,2016,inf,ha,§test,",
    'tea.area,,Huyện Tam Đường,2014,"1,947.5",ha,§test,',
    "tea.area,,Huyện Tam Đường,2013,15,sào,§test,",
    "fish.output,,Huyện Tam Đường,2019,15,tạ,§test,",
    "fish.output,,Huyện Tam Đường,2018,2,tấn,§test,",
    "tea.area_organic,,Huyện Tam Đường,2021,54,ha,§test,",
    "tea.area_organic,,Toàn huyện,2021,55,ha,§test,",
    "tea.area,,Huyện Tam Đường,2015,12,ha,§test",
]

EXPECTED_REJECTS = [  # (place, field, raw value, reason)
    ("03_ChanNuoi!D9", "value", "n/a", f"'n/a' is not a number; expected a number in facility {NO_FIGURE}"),
    (
        "03_ChanNuoi!E10",
        "value",
        "2022-05-01",
        "a date (2022-05-01) where a number in facility belongs: Excel turns '15.5' or '15/5' into a date; format the "
        "cell as Text and type the figure again",
    ),
    ("03_ChanNuoi!C11", "value", "-2", "negative value -2 facility: expected a count or amount ≥ 0"),
    (
        "03_ChanNuoi!D12",
        "value",
        "1e20",
        "'1e20' is in scientific notation, which is not accepted: type the number in full, in facility",
    ),
    ("03_ChanNuoi!E12", "value", "100000000000000000000", "1e+20 facility is an implausible magnitude (above 1e+12)"),
    ("03_ChanNuoi!C13", "unit", "2 ha", "the cell says 'ha' but the column's unit is 'cơ sở'"),
    (
        "03_ChanNuoi!D13",
        "value",
        "1,947",
        "'1,947' is ambiguous: the comma may be the decimal mark (the Vietnamese way) or group thousands (the English "
        "way, 1947); write 1.947 for 1947, or 1,9470 for the decimal number",
    ),
    ("03_ChanNuoi!E13", "value", "NaN", f"'NaN' is not a number; expected a number in facility {NO_FIGURE}"),
    ("03_ChanNuoi!E14", "row", "01", HIDDEN_ROW),
    (
        "03_ChanNuoi!C8",
        "area",
        "04",
        "two values of livestock.farms_cattle_15plus for 2022, also in bc24_annex.xlsx!03_ChanNuoi!C15 ('Sơn Bình' is "
        "listed twice): keep one of the rows",
    ),
    (
        "03_ChanNuoi!C15",
        "area",
        "03",
        "two values of livestock.farms_cattle_15plus for 2022, also in bc24_annex.xlsx!03_ChanNuoi!C8 ('Sơn Bình' is "
        "listed twice): keep one of the rows",
    ),
    (
        "03_ChanNuoi!E11",
        "area",
        "01",
        "two values of livestock.farms_pig_50plus for 2022, also in bc24_annex.xlsx!03_ChanNuoi!E16 ('Xã Bản Hon' and "
        "'Bản Hòn' are the same area, Xã Bản Hon 03421): keep one of the rows",
    ),
    (
        "03_ChanNuoi!E16",
        "area",
        "01",
        "two values of livestock.farms_pig_50plus for 2022, also in bc24_annex.xlsx!03_ChanNuoi!E11 ('Bản Hòn' and "
        "'Xã Bản Hon' are the same area, Xã Bản Hon 03421): keep one of the rows",
    ),
    ("03_ChanNuoi!C17", "area", "01", "unknown area 'Bản Xyz'; closest known name: 'Xã Bản Bo'"),
    (
        "03_ChanNuoi!C20",
        "value",
        "74.03",
        "decimal point in '74.03': in Vietnamese numbers the dot groups thousands; write the decimals after a comma "
        "(74,03); expected a number in facility",
    ),
    (
        "04_CaNuocLanh!E8",
        "formula",
        "=E7/2",
        "formula without a cached value: open and save the file in Excel/LibreOffice",
    ),
    ("04_CaNuocLanh!F8", "unit", "1.200 kg", "the cell says 'kg' but the column's unit is 'tấn'"),
    ("04_CaNuocLanh!F9", "unit", "15 sào", "the cell says 'sào' but the column's unit is 'tấn'"),
    (
        "04_CaNuocLanh!C9",
        "merged",
        "02",
        "in merged cells C9:C10 in the table body: one value cannot stand for several areas or columns; unmerge the "
        "cells and type the value in each",
    ),
    ("04_CaNuocLanh!D9", "value", "#DIV/0!", "Excel error value in the cell: correct the formula or type the figure"),
    ("04_CaNuocLanh!G7", "unit", "14", "unit 'cái' is not in the unit table (units.csv)"),
    (
        "04_CaNuocLanh!H7",
        "column",
        "12",
        "column H is hidden: a figure nobody sees on screen is not used; "
        "unhide the column (or delete it) and run again",
    ),
    (f"{CSV}:2 §test", "value", "120", "share 120 % is above 100 %"),
    (
        f"{CSV}:5 §test",
        "value",
        "1,947",
        "'1,947' is ambiguous: the comma may be the decimal mark (the Vietnamese way) or group thousands (the English "
        "way, 1947); write 1.947 for 1947, or 1,9470 for the decimal number",
    ),
    (f"{CSV}:6 §test", "value", "inf", "'inf' is not a number; expected a number in ha"),
    (
        f"{CSV}:7 §test",
        "value",
        "1,947.5",
        "English number format ('1,947.5'): in Vietnamese numbers the dot groups thousands and the comma is the "
        "decimal mark; expected a number in ha",
    ),
    (f"{CSV}:8 §test", "unit", "15", "unit 'sào' is not in the unit table (units.csv)"),
    (
        f"{CSV}:11 §test",
        "area",
        "54",
        f"two values of tea.area_organic for 2021, also in {CSV}:12 §test ('Toàn huyện' and 'Huyện Tam Đường' are the "
        "same area, Huyện Tam Đường 106): keep one of the rows",
    ),
    (
        f"{CSV}:12 §test",
        "area",
        "55",
        f"two values of tea.area_organic for 2021, also in {CSV}:11 §test ('Huyện Tam Đường' and 'Toàn huyện' are the "
        "same area, Huyện Tam Đường 106): keep one of the rows",
    ),
    (f"{CSV}:13", "line", "tea.area,,Huyện Tam Đường,2015,12,ha,§test", "line has 7 fields, the header has 8"),
]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """The shipped data with the hostile annex and CSV, ingested once through the command line."""
    data = tmp_path_factory.mktemp("hostile_cells") / "data"
    shutil.copytree(config.DATA_DIR / "raw", data / "raw")
    replace_annex(data, edited_annex(hostile_annex))
    put_raw(data, CSV, ("\n".join([RECORDS_HEADER] + RECORDS) + "\n").encode("utf-8"), "records_csv", "hostile")
    code, out, err = run_ingest(data)
    obs = pd.read_csv(data / "processed" / "observations.csv", dtype={"area_code": str, "year": int})
    return code, out, err, rejects_of(data), obs


def test_cell_problems_exit_1_with_no_error_and_a_summary(hostile_run):
    code, out, err, _rejects, _ = hostile_run
    assert (code, err) == (1, "")
    assert f"rejects: {len(EXPECTED_REJECTS)} (see rejects.csv)" in out


def place(ref: str) -> str:
    return ref if ref.startswith(CSV) else WB + ref


@pytest.mark.parametrize("ref, field, raw, reason", [pytest.param(*r, id=r[0]) for r in EXPECTED_REJECTS])
def test_each_bad_cell_is_quarantined_with_its_reason(hostile_run, ref, field, raw, reason):
    rejects = hostile_run[3]
    row = rejects[rejects["source_ref"] == place(ref)]
    assert row[["field", "raw_value", "reason"]].values.tolist() == [[field, raw, reason]]


def test_nothing_else_is_rejected(hostile_run):
    rejects = hostile_run[3]
    assert sorted(rejects["source_ref"]) == sorted(place(r[0]) for r in EXPECTED_REJECTS)


def value(obs: pd.DataFrame, ref: str) -> list:
    rows = obs[obs["source_ref"] == ref]
    return rows[["indicator", "area_code", "value", "unit", "status"]].values.tolist()


@pytest.mark.parametrize(
    "ref, expected",
    [
        pytest.param(
            "03_ChanNuoi!C9",
            ["livestock.farms_cattle_15plus", "03390", 2.0, "facility", "estimate"],
            id="khoang-is-an-estimate",
        ),
        pytest.param(
            "03_ChanNuoi!C18",
            ["livestock.farms_cattle_15plus", "03427", 1.0, "facility", "reported"],
            id="nfd-name-with-trailing-spaces",
        ),
        pytest.param(
            "03_ChanNuoi!D19", ["livestock.farms_pig_100plus", "03430", 2.0, "facility", "reported"], id="all-caps-name"
        ),
        pytest.param(
            "02_Che!G7", ["tea.area_organic", "106", 54.0, "ha", "reported"], id="unit-in-cell-same-as-column"
        ),
        pytest.param("02_Che!C7", ["tea.area", "106", 1947.0, "ha", "reported"], id="merged-total-label"),
        pytest.param("03_ChanNuoi!C14", [], id="hidden-dash-is-missing-not-rejected"),
        pytest.param(f"{CSV}:3 §test", ["tea.area", "106", 1500.0, "ha", "estimate"], id="csv-khoang"),
        pytest.param(f"{CSV}:4 §test", ["tea.area", "106", 1947.0, "ha", "reported"], id="csv-thousands-dot"),
        pytest.param(f"{CSV}:9 §test", ["fish.output", "106", 1.5, "t", "reported"], id="csv-ta-converted"),
        pytest.param(f"{CSV}:10 §test", ["fish.output", "106", 2.0, "t", "reported"], id="csv-tan-same-column"),
    ],
)
def test_good_cells_beside_bad_ones_are_kept(hostile_run, ref, expected):
    assert value(hostile_run[4], place(ref)) == ([expected] if expected else [])


def test_area_names_are_official_and_nfc(hostile_run):
    obs = hostile_run[4]
    names = obs[obs["source_ref"].str.startswith(WB + "03_ChanNuoi")].set_index("area_code")["area_name"].to_dict()
    assert names["03427"] == "Xã Nà Tăm" and names["03430"] == "Xã Khun Há"
    assert all(n == reference.nfc(n) for n in obs["area_name"])


# --- OpenDocument (.ods): read by calamine; hidden rows, formulas and merges from its XML -----


def fish_tanks_layout() -> Layout:
    full = layouts.load("bc24_annex")
    sheet = next(s for s in full.sheets if s.sheet == "04_CaNuocLanh")
    sheet = replace(sheet, columns=tuple(c for c in sheet.columns if c.indicator == "fish.tanks"))
    return replace(full, sheets=(sheet,))


def fish_ods() -> bytes:
    """A SYNTHETIC one-column fish sheet as LibreOffice would save it, with a hidden row, an
    uncached formula and a merge in the body."""
    spanned = ' table:number-rows-spanned="2" table:number-columns-spanned="1"'
    return ods_file(
        "".join(
            [
                ods_row(ods_text("SYNTHETIC TEST DATA")),
                ods_row(attrs=' table:number-rows-repeated="2"'),
                ods_row(
                    ods_text("STT No.", spanned),
                    ods_text("Đơn vị hành chính Administrative unit", spanned),
                    ods_text("Quy mô nuôi - Scale of farming"),
                ),
                ods_row("<table:covered-table-cell/>", "<table:covered-table-cell/>", ods_text("Số bể nuôi Tanks")),
                ods_row("", "", ods_text("bể")),
                ods_row("", ods_text("TỔNG SỐ - TOTAL"), ods_number(388)),
                ods_row(ods_number(1), ods_text("Sơn Bình"), ods_number(323)),
                ods_row(ods_number(2), ods_text("Hồ thầu"), ods_number(13), attrs=' table:visibility="collapse"'),
                ods_row(ods_number(3), ods_text("Bản Bo"), '<table:table-cell table:formula="of:=[.C7]-[.C8]-[.C9]"/>'),
                ods_row(ods_number(4), ods_text("Khun Há"), ods_number(5, spanned)),
                ods_row(ods_number(5), ods_text("Giang Ma"), "<table:covered-table-cell/>"),
            ]
        ),
        name="04_CaNuocLanh",
    )


def test_ods_is_read_and_its_hidden_rows_formulas_and_merges_are_rejected(tmp_path, monkeypatch):
    path = tmp_path / "fish.ods"
    path.write_bytes(fish_ods())
    layout = fish_tanks_layout()
    monkeypatch.setattr("kpi.layouts.load", lambda *_: layout)
    out = extract(SourceRecord(path, {"source_id": "fish", "layout": "x"}))
    assert {(c["area_raw"], c["source_ref"], c["raw_value"]) for c in out.cells} == {
        ("106", "fish.ods!04_CaNuocLanh!C7", 388.0),
        ("Sơn Bình", "fish.ods!04_CaNuocLanh!C8", 323.0),
    }
    assert [(r["source_ref"], r["field"], r["raw_value"], r["reason"]) for r in out.rejects] == [
        (
            "fish.ods!04_CaNuocLanh!C9",
            "row",
            "13",
            "row 9 is hidden: a figure nobody sees on screen is not used; unhide the row (or delete it) and run again",
        ),
        (
            "fish.ods!04_CaNuocLanh!C10",
            "formula",
            "=[.C7]-[.C8]-[.C9]",
            "formula without a cached value: open and save the file in Excel/LibreOffice",
        ),
        (
            "fish.ods!04_CaNuocLanh!C11",
            "merged",
            "5",
            "in merged cells C11:C12 in the table body: one value cannot stand for several areas or columns; unmerge "
            "the cells and type the value in each",
        ),
    ]
