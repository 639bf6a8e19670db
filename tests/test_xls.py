"""Excel 97-2003 (.xls) files, as district offices still send them: REAL .xls files written with
xlwt from the yearly form, read with the same checks and messages as .xlsx."""

from __future__ import annotations

import struct
from pathlib import Path

import pandas as pd
import xlwt
from openpyxl import load_workbook

from kpi import ingest
from kpi.check import check_file

from .yearly import add_to_raw, filled_form


def as_xls(xlsx: Path, out: Path, edit=None) -> Path:
    """The same workbook saved as Excel 97-2003 (every sheet, every value); ``edit(book)`` may hide
    rows or merge cells before it is saved."""
    book = xlwt.Workbook(encoding="utf-8")
    for ws in load_workbook(xlsx).worksheets:
        sheet = book.add_sheet(ws.title, cell_overwrite_ok=True)  # a merge blanks what it covers, as Excel does
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    sheet.write(cell.row - 1, cell.column - 1, cell.value)
    if edit:
        edit(book)
    book.save(str(out))
    return out


def rename_stream(xls: Path, name: str) -> None:
    """Rename the Workbook stream in the Compound File's directory, as some programs write it."""
    data = bytearray(xls.read_bytes())
    first_dir_sector = struct.unpack_from("<i", data, 48)[0]
    entry = 512 + first_dir_sector * 512 + 128  # entry 1: the Workbook stream (xlwt writes it first)
    assert bytes(data[entry : entry + 16]).decode("utf-16-le") == "Workbook"
    data[entry : entry + 64] = (name + "\0").encode("utf-16-le").ljust(64, b"\0")
    struct.pack_into("<H", data, entry + 64, (len(name) + 1) * 2)
    xls.write_bytes(bytes(data))


def test_xls_form_checks_like_the_xlsx_form(tmp_path):
    xlsx = filled_form(2023, tmp_path / "tam_duong_2023.xlsx")
    xls = as_xls(xlsx, tmp_path / "tam_duong_2023.xls")
    assert xls.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")
    report, expected = check_file(xls), check_file(xlsx)
    assert report.ok, report.lines()
    assert report.values == expected.values > 100


def test_xls_form_ingests_the_same_figures(tmp_path, data_dir):
    form = filled_form(2023, tmp_path / "tam_duong_2023.xlsx")
    add_to_raw(as_xls(form, tmp_path / "tam_duong_2023.xls"), data_dir / "raw")
    result = ingest.run(data_dir)
    assert result.rejects.empty
    got = result.observations[result.observations["source_id"] == "tam_duong_2023"]
    wb = load_workbook(form)
    ws = wb["2_Che"]
    total_area = ws["D6"].value  # TỔNG SỐ row, first tea column (tea.area, ha)
    row = got[(got["indicator"] == "tea.area") & (got["area_code"] == "106")]
    assert row[["value", "source_ref"]].values.tolist() == [[float(total_area), "tam_duong_2023.xls!2_Che!D6"]]


def hide_and_merge(book) -> None:
    sheet = book.get_sheet("3_ChanNuoi")
    sheet.row(8).hidden = True  # row 9 (a commune) hidden
    sheet.col(4).hidden = True  # column E hidden
    sheet.merge(11, 12, 3, 3)  # D12:D13 merged: one value for two communes
    sheet.row(14).set_cell_error(3, "#DIV/0!")


def test_hidden_rows_merges_and_errors_of_an_xls_are_rejected_as_in_xlsx(tmp_path):
    xlsx = filled_form(2023, tmp_path / "form.xlsx")
    xls = as_xls(xlsx, tmp_path / "form.xls", hide_and_merge)
    rejects = check_file(xls).rejects
    reasons = {(r.source_ref.split("!")[-1], r.reason.split(":")[0]) for r in rejects.itertuples()}
    assert ("D9", "row 9 is hidden") in reasons
    assert ("E7", "column E is hidden") in reasons
    assert ("D12", "in merged cells D12") in reasons
    assert ("D15", "Excel error value in the cell") in reasons
    assert set(rejects["source_ref"].str.split("!").str[1]) == {"3_ChanNuoi"}


def test_workbook_stream_named_in_capitals_is_read(tmp_path):
    xlsx = filled_form(2023, tmp_path / "form.xlsx")
    for name in ("WORKBOOK", "BOOK"):
        xls = as_xls(xlsx, tmp_path / f"{name}.xls")
        rename_stream(xls, name)
        report = check_file(xls)
        assert report.ok, (name, report.lines())
        assert report.values == check_file(xlsx).values


def test_xls_rejects_go_to_the_rejects_table(tmp_path, data_dir):
    xls = as_xls(filled_form(2023, tmp_path / "form.xlsx"), tmp_path / "tam_duong_2023.xls", hide_and_merge)
    add_to_raw(xls, data_dir / "raw")
    result = ingest.run(data_dir)
    refs = set(result.rejects["source_ref"])
    assert {
        "tam_duong_2023.xls!3_ChanNuoi!D9",
        "tam_duong_2023.xls!3_ChanNuoi!D12",
        "tam_duong_2023.xls!3_ChanNuoi!D15",
    } <= refs
    assert not pd.Series(sorted(refs)).str.startswith("bc24").any()
