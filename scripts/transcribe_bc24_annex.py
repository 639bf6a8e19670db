"""Type the figures of report 24-BC/HU into a statistical-annex workbook.

This is how ``data/raw/bc24_annex.xlsx`` was made: the report's figures for food grain,
tea, livestock farms and cold-water fish (with the commune breakdowns of footnotes 7-10),
typed as a district office keeps them -- bilingual titles, merged two-row headers, a unit
row, a ``TỔNG SỐ`` row, Vietnamese number text copied as printed and a note row under the
table.  It was run once; the workbook is the raw file and is never rewritten by code.  The
script is kept so a reader can see exactly what was typed where (``kpi`` reads the
workbook, not this script).

Usage: python scripts/transcribe_bc24_annex.py --out NEW_FILE.xlsx
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

REPORT = "Báo cáo số 24-BC/HU ngày 15/4/2022 của Ban Thường vụ Huyện ủy Tam Đường"
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

# Each sheet: title (vi - en), subtitle, header groups, leaf headers, unit row, body rows, note.
# Header groups: (first column, last column, text) spanning row 4; a leaf header with no
# group above it is merged over rows 4-5.  Body values are copied as printed ("-" = none).
SHEETS = [
    {
        "name": "01_LuongThuc",
        "title": "SẢN LƯỢNG LƯƠNG THỰC CÓ HẠT - FOOD GRAIN OUTPUT",
        "subtitle": "Huyện Tam Đường, năm 2022 so với năm 2012 - Tam Đường district, 2022 on 2012",
        "groups": [(3, 4, "Sản lượng lương thực có hạt - Food grain output")],
        "leaves": [
            "STT\nNo.",
            "Đơn vị hành chính\nAdministrative unit",
            "Năm 2022\nYear 2022",
            "Tăng so với năm 2012\nIncrease on 2012",
        ],
        "units": ["", "", "tấn", "tấn"],
        "rows": [["", "TỔNG SỐ - TOTAL", "41.100", "4.085"]],
        "note": f'Ghi chú - Note: {REPORT}, mục B.I.2.3 (lĩnh vực trồng trọt). Số liệu "đến nay" = năm 2022.',
    },
    {
        "name": "02_Che",
        "title": "DIỆN TÍCH, SẢN LƯỢNG CHÈ - TEA AREA AND OUTPUT",
        "subtitle": "Huyện Tam Đường, năm 2022 - Tam Đường district, 2022",
        "groups": [
            (4, 5, "Sản lượng chè búp tươi - Fresh tea bud output"),
            (6, 8, "Diện tích chè chứng nhận - Certified tea area"),
        ],
        "leaves": [
            "STT\nNo.",
            "Đơn vị hành chính\nAdministrative unit",
            "Tổng diện tích chè\nTotal tea area",
            "Năm 2022\nYear 2022",
            "Tăng so với năm 2012\nIncrease on 2012",
            "Rainforest Alliance",
            "Hữu cơ\nOrganic",
            "VietGAP",
        ],
        "units": ["", "", "ha", "tấn", "tấn", "ha", "ha", "ha"],
        "rows": [["", "TỔNG SỐ - TOTAL", "1.947", "10.200", "6.793", "74,03", "54", "30,7"]],
        "note": f"Ghi chú - Note: {REPORT}, mục B.I.2.3. Vùng chè tập trung tại các xã "
        "Bản Bo, Nà Tăm, Khun Há; giống chè chất lượng cao Kim Tuyên, PH8.",
    },
    {
        "name": "03_ChanNuoi",
        "title": "CƠ SỞ CHĂN NUÔI TẬP TRUNG - CONCENTRATED LIVESTOCK FARMS",
        "subtitle": "Phân theo xã và quy mô, năm 2022 - By commune and scale, 2022",
        "groups": [(3, 5, "Số cơ sở chăn nuôi - Number of farms")],
        "leaves": [
            "STT\nNo.",
            "Đơn vị hành chính\nAdministrative unit",
            "Trâu, bò quy mô trên 15 con/cơ sở\nBuffalo and cattle, over 15 head",
            "Lợn quy mô trên 100 con/cơ sở\nPigs, over 100 head",
            "Lợn quy mô trên 50 con/cơ sở\nPigs, over 50 head",
        ],
        "units": ["", "", "cơ sở", "cơ sở", "cơ sở"],
        "rows": [
            ["", "TỔNG SỐ - TOTAL", "09", "04", "08"],
            [1, "Sơn Bình", "04", "01", "03"],
            [2, "Thị trấn", "02", "-", "-"],
            [3, "Bản Giang", "01", "01", "-"],
            [4, "Bản Hòn", "02", "-", "01"],
            [5, "Bình Lư", "-", "01", "02"],
            [6, "Bản Bo", "-", "01", "01"],
            [7, "Thèn Sin", "-", "-", "01"],
        ],
        "note": f"Ghi chú - Note: {REPORT}, mục B.I.2.3, chú thích 7, 8, 9. Cơ sở lợn ở "
        "Bản Giang là 01 công ty chăn nuôi quy mô trên 3.000 con/lứa.",
    },
    {
        "name": "04_CaNuocLanh",
        "title": "NUÔI CÁ NƯỚC LẠNH - COLD-WATER FISH FARMING",
        "subtitle": "Phân theo xã, năm 2022 - By commune, 2022",
        "groups": [(3, 6, "Quy mô nuôi - Scale of farming"), (7, 8, "Loại bể nuôi - Tank type")],
        "leaves": [
            "STT\nNo.",
            "Đơn vị hành chính\nAdministrative unit",
            "Số cơ sở nuôi\nFarms",
            "Số bể nuôi\nTanks",
            "Thể tích bể nuôi\nTank volume",
            "Sản lượng thu trong năm\nOutput in the year",
            "Bể kiên cố\nConcrete tanks",
            "Bể bạt\nTarpaulin tanks",
        ],
        "units": ["", "", "cơ sở", "bể", "m³", "tấn", "hộ", "hộ"],
        "rows": [
            ["", "TỔNG SỐ - TOTAL", "26", "388", "18.000", "146", "14", "12"],
            [1, "Sơn Bình", "23", "323", "", "", "", ""],
            [2, "Hồ thầu", "02", "13", "", "", "", ""],
            [3, "Bản Bo", "01", "52", "", "", "", ""],
        ],
        "note": f"Ghi chú - Note: {REPORT}, mục B.I.2.3, chú thích 10. HTX Ngũ Chi Sơn "
        "(bản Chu Va 12, xã Sơn Bình) có 02 sản phẩm OCOP 3 sao.",
    },
]


def write_sheet(ws, spec: dict) -> None:
    """Lay one annex table out from row 1: title, subtitle, two header rows, units, body, note."""
    width = len(spec["leaves"])
    ws["A1"] = spec["title"]
    ws["A1"].font = Font(bold=True, size=12)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A2"] = spec["subtitle"]
    ws["A2"].font = Font(italic=True)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    grouped = set()
    for first, last, text in spec["groups"]:
        ws.cell(row=4, column=first, value=text)
        ws.merge_cells(start_row=4, start_column=first, end_row=4, end_column=last)
        grouped.update(range(first, last + 1))
    for col, text in enumerate(spec["leaves"], start=1):
        if col in grouped:
            ws.cell(row=5, column=col, value=text)
        else:
            ws.cell(row=4, column=col, value=text)
            ws.merge_cells(start_row=4, start_column=col, end_row=5, end_column=col)
    for col, unit in enumerate(spec["units"], start=1):
        ws.cell(row=6, column=col, value=unit or None)
    for r, values in enumerate(spec["rows"], start=7):
        for col, value in enumerate(values, start=1):
            if value != "":
                ws.cell(row=r, column=col, value=value)
    last_row = 6 + len(spec["rows"])
    for row in ws.iter_rows(min_row=4, max_row=last_row, max_col=width):
        for cell in row:
            cell.border = BOX
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in ws.iter_rows(min_row=4, max_row=6, max_col=width):
        for cell in row:
            cell.font = Font(bold=True)
    ws.cell(row=7, column=2).font = Font(bold=True)
    ws.cell(row=last_row + 2, column=1, value=spec["note"]).font = Font(italic=True)
    ws.column_dimensions["B"].width = 28
    for col in "CDEFGH"[: width - 2]:
        ws.column_dimensions[col].width = 18


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    if args.out.exists():
        print(f"{args.out} exists; the raw file is never rewritten", file=sys.stderr)
        return 1
    wb = Workbook()
    wb.remove(wb.active)
    for spec in SHEETS:
        write_sheet(wb.create_sheet(spec["name"]), spec)
    wb.properties.creator = "Tam Đường KPI data package (transcription of 24-BC/HU)"
    wb.save(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
