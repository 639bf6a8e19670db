from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import Workbook

from kpi import layouts
from kpi.errors import SourceError
from kpi.extract import extract
from kpi.headers import header_texts
from kpi.layouts import Layout
from kpi.reference import SourceRecord


def test_header_texts_spread_merged_cells():
    """Two header rows: a group over B:C, leaves below; the merged group heads both leaves."""
    rows = [["STT", "Sản lượng", None], [None, "Năm 2022", "Tăng"]]
    assert header_texts(rows, [1, 2], [((0, 1), (0, 2))]) == ["STT", "Sản lượng / Năm 2022", "Sản lượng / Tăng"]


def annex_like(path: Path, header: str = "Số bể nuôi\nTanks", extra: str | None = None) -> Path:
    """A tiny one-sheet annex: title, two header rows (B merged down), units, total and a commune."""
    wb = Workbook()
    ws = wb.active
    ws.title = "04_CaNuocLanh"
    ws["A1"] = "NUÔI CÁ NƯỚC LẠNH"
    ws["A4"], ws["B4"], ws["C4"] = (
        "STT\nNo.",
        "Đơn vị hành chính\nAdministrative unit",
        "Quy mô nuôi - Scale of farming",
    )
    ws.merge_cells("A4:A5")
    ws.merge_cells("B4:B5")
    ws["C5"] = header
    if extra:
        ws["D5"] = extra
    ws["C6"] = "bể"
    ws["B7"], ws["C7"] = "TỔNG SỐ - TOTAL", "388"
    ws["B8"], ws["C8"] = "Sơn Bình", 323
    ws["A10"] = "Ghi chú: nguồn báo cáo"
    wb.save(path)
    return path


def one_sheet_layout() -> Layout:
    full = layouts.load("bc24_annex")
    sheet = next(s for s in full.sheets if s.sheet == "04_CaNuocLanh")
    sheet = replace(sheet, columns=tuple(c for c in sheet.columns if c.indicator == "fish.tanks"))
    return replace(full, sheets=(sheet,))


def test_workbook_cells_carry_their_a1_place(tmp_path, monkeypatch):
    path = annex_like(tmp_path / "annex.xlsx")
    layout = one_sheet_layout()
    monkeypatch.setattr("kpi.layouts.load", lambda *_: layout)
    out = extract(SourceRecord(path, {"source_id": "t", "layout": "x"}))
    cells = {(c["area_raw"], c["source_ref"]): c["raw_value"] for c in out.cells}
    assert cells == {("106", "annex.xlsx!04_CaNuocLanh!C7"): "388", ("Sơn Bình", "annex.xlsx!04_CaNuocLanh!C8"): 323.0}
    assert all(c["unit_raw"] == "bể" for c in out.cells)


def test_renamed_column_is_reported_with_the_closest_known_header(tmp_path, monkeypatch):
    path = annex_like(tmp_path / "annex.xlsx", header="Số bể\nTanks")
    layout = one_sheet_layout()
    monkeypatch.setattr("kpi.layouts.load", lambda *_: layout)
    with pytest.raises(SourceError) as err:
        extract(SourceRecord(path, {"source_id": "t", "layout": "x"}))
    text = str(err.value)
    assert "column 'Quy mô nuôi - Scale of farming / Số bể nuôi Tanks' not found in header rows 4, 5" in text
    assert "unknown column 'Quy mô nuôi - Scale of farming / Số bể Tanks' at C4" in text


def test_missing_sheet_names_the_sheets_there(tmp_path, monkeypatch):
    path = annex_like(tmp_path / "annex.xlsx")
    layout = one_sheet_layout()
    layout = replace(layout, sheets=(replace(layout.sheets[0], sheet="05_Khac"),))
    monkeypatch.setattr("kpi.layouts.load", lambda *_: layout)
    with pytest.raises(SourceError, match=r"sheet '05_Khac' not found.*\(sheets: 04_CaNuocLanh\)"):
        extract(SourceRecord(path, {"source_id": "t", "layout": "x"}))


def test_ragged_csv_line_is_rejected_with_its_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "ma_chi_tieu,chi_tieu,dia_ban,nam,gia_tri,don_vi,trich_dan,ghi_chu\n"
        "fish.output,x,Huyện Tam Đường,2022,146,tấn,§B,\n"
        "fish.output,x,Huyện Tam Đường,2022\n",
        encoding="utf-8",
    )
    out = extract(SourceRecord(path, {"source_id": "r", "layout": "records_csv"}))
    assert len(out.cells) == 1
    assert out.rejects == [
        {
            "source_id": "r",
            "source_ref": "r.csv:3",
            "field": "line",
            "raw_value": "fish.output,x,Huyện Tam Đường,2022",
            "reason": "line has 4 fields, the header has 8",
        }
    ]


def test_a_header_is_located_once_for_every_sheet_that_carries_it(monkeypatch):
    """The columns of a header are worked out for its first sheet and given to the next ones; a
    header that differs in one cell is worked out again, and one with a problem every time."""
    from kpi import headers
    from kpi.extract import _Sheet
    from kpi.marks import NO_MARKS

    spec = layouts.load("kpi_template").sheets[3]
    header = [None, "Mã ĐVHC - Code", "Đơn vị hành chính - Administrative unit", "Tình trạng số liệu - Status"]
    header += [col.header for col in spec.columns]
    calls = []
    monkeypatch.setattr(headers, "_headers", {})
    monkeypatch.setattr(headers, "_locate_columns", lambda *a, f=headers._locate_columns: calls.append(1) or f(*a))

    def located(row: list) -> tuple:
        rows = [[None] * len(row) for _ in range(spec.header_rows[0] - 1)] + [list(row), ["x"] * len(row)]
        sheet, problems = _Sheet("f.xlsx", spec.sheet, rows, [], NO_MARKS), []
        return headers.located_columns(sheet, spec, problems), sheet.columns, problems

    first, again = located(header[1:]), located(header[1:])
    assert first[0] and again[0] and again[1] is first[1] and len(calls) == 1 and first[1]
    other = located(header[1:3] + ["Status (changed)"] + header[4:])
    assert len(calls) == 2 and other[2]  # an unknown column: a problem, worked out each time
    assert located(header[1:3] + ["Status (changed)"] + header[4:])[2] == other[2] and len(calls) == 3


def test_a_header_of_true_is_not_the_header_of_1(monkeypatch):
    """``True == 1`` in Python, but their texts differ: a sheet whose header cell holds True is not
    given the columns of one that holds 1."""
    from kpi import headers
    from kpi.extract import _Sheet
    from kpi.marks import NO_MARKS

    spec = layouts.load("kpi_template").sheets[3]
    header = ["Mã ĐVHC - Code", "Đơn vị hành chính - Administrative unit", "Tình trạng số liệu - Status"]
    header += [col.header for col in spec.columns]
    monkeypatch.setattr(headers, "_headers", {})
    spec_one = replace(spec, ignore=(*spec.ignore, "1"))

    def problems(extra: object) -> list[str]:
        rows = [[None] * (len(header) + 1) for _ in range(spec.header_rows[0] - 1)] + [header + [extra]]
        found: list[str] = []
        headers.located_columns(_Sheet("f.xlsx", spec.sheet, rows, [], NO_MARKS), spec_one, found)
        return found

    assert problems(1.0) == []  # the column "1" is ignored
    assert problems(True) == [f"sheet {spec.sheet!r}: unknown column 'True' at {chr(65 + len(header))}4"]
