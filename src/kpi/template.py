"""``kpi template``: the bilingual data-collection workbook for one year.

The form is written from the same layout (``layouts/kpi_template.yml``) and catalogue that
``kpi ingest`` reads it back with, so a filled form saved into ``data/raw/`` with its
provenance record is ingested with no code change.  One sheet per theme, one row per
administrative unit in force that year (the 13 units of Tam Đường before 1 July 2025,
the new communes after), a unit row, and Excel data validation: numbers ≥ 0 (shares
0–100) and a list for the status of each row.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from kpi import config, labels, layouts, reference
from kpi.errors import ParameterError
from kpi.layouts import Layout, SheetLayout
from kpi.write import atomic_write

LAYOUT_ID = "kpi_template"
FIRST_ROW = 6  # first unit row: title, year, blank, header, units above it
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")


def units_for(year: int) -> list[tuple[str, str]]:
    """(code, name) of the rows of the form: district total then its units, or the new communes.

    The district is the one the form's layout reads its TOTAL row as (``total_area`` of
    ``layouts/kpi_template.yml``), so the form and its reading agree.
    """
    gaz = reference.gazetteer()
    district = _district()
    if reference.era_of_year(year) == "pre2025":
        units = gaz.units_of_year(year, parent=district)
        rows = [(district, "TỔNG SỐ - TOTAL")]
    else:
        units = gaz.units_of_year(year)
        rows = []
    return rows + [(r.code, r.name_vi) for r in units.sort_values("name_vi").itertuples()]


def _district() -> str:
    return layouts.load(LAYOUT_ID).total_area


def _instructions(ws, year: int, spec: Layout, synthetic_note: str | None) -> None:
    lines = [
        (spec.title, True),
        (f"Năm - Year: {year}", True),
        ("", False),
        ("Hướng dẫn - Instructions", True),
        (
            "1. Mỗi sheet là một lĩnh vực; mỗi dòng là một đơn vị hành chính, mỗi cột một chỉ tiêu "
            "với đơn vị ở dòng 5. "
            "- Each sheet is a theme; each row an administrative unit, each column an indicator, its unit in row 5.",
            False,
        ),
        (
            "2. Nhập số (không nhập chữ); để trống ô không có số liệu. Số âm không được chấp nhận. "
            "- Type numbers (no words); leave a cell empty when there is no figure. Negative numbers are refused.",
            False,
        ),
        (
            "3. Chọn tình trạng số liệu của từng dòng ở cột C: Chính thức, Sơ bộ hoặc Ước tính. "
            "- Choose the status of each row in column C: official, preliminary or estimate.",
            False,
        ),
        (
            "4. Không đổi tên sheet, tiêu đề cột hay tên đơn vị. Kiểm tra tệp bằng `kpi check <tệp>` trước khi nộp. "
            "- Do not rename sheets, headers or units. Check the file with `kpi check <file>` before handing it in.",
            False,
        ),
        (
            '5. Lưu tệp vào data/raw/ kèm bản ghi nguồn gốc <tệp>.meta.yml (xem README, mục "Adding a new year"). '
            "- Save the file into data/raw/ with its provenance record <file>.meta.yml (see the README).",
            False,
        ),
    ]
    if synthetic_note:
        lines.insert(2, (synthetic_note, True))
    for r, (text, bold) in enumerate(lines, start=1):
        ws.cell(row=r, column=1, value=text).font = Font(bold=bold, color="C00000" if text == synthetic_note else None)
    ws.column_dimensions["A"].width = 140


def _theme_sheet(ws, year: int, sheet: SheetLayout, spec: Layout, synthetic_note: str | None) -> None:
    theme_vi = labels.text("themes", sheet.theme, "vi")
    theme_en = labels.text("themes", sheet.theme, "en")
    ws["A1"] = f"{spec.title}: {theme_vi} - {theme_en}"
    ws["A1"].font = Font(bold=True, size=12)
    ws["A2"], ws["C2"] = "Năm - Year", year
    ws["A2"].font = ws["C2"].font = Font(bold=True)
    if synthetic_note:
        ws["A3"] = synthetic_note
        ws["A3"].font = Font(bold=True, color="C00000")
    cat = reference.catalogue()
    headers = ["Mã ĐVHC - Code", sheet.area.header, sheet.status.header if sheet.status else ""]
    headers += [c.header for c in sheet.columns]
    unit_row = ["", "", ""] + [labels.unit_label(cat.loc[c.indicator, "unit"], "vi") for c in sheet.columns]
    for col, (head, unit) in enumerate(zip(headers, unit_row), start=1):
        cell = ws.cell(row=4, column=col, value=head)
        cell.font, cell.fill, cell.border = Font(bold=True), HEAD_FILL, BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.cell(row=5, column=col, value=unit or None).border = BOX
        ws.column_dimensions[get_column_letter(col)].width = 14 if col == 1 else 26 if col <= 3 else 22
    units = units_for(year)
    last = FIRST_ROW + len(units) - 1
    for r, (code, name) in enumerate(units, start=FIRST_ROW):
        ws.cell(row=r, column=1, value=code)
        ws.cell(row=r, column=2, value=name).font = Font(bold=code == _district())
        for col in range(1, len(headers) + 1):
            ws.cell(row=r, column=col).border = BOX
    ws.cell(
        row=last + 2,
        column=1,
        value="Ghi chú - Note: để trống ô không có số liệu - leave cells without a figure empty.",
    )
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=4)
    ws.row_dimensions[4].height = 60
    _validations(ws, sheet, spec, last, cat)


def _validations(ws, sheet: SheetLayout, spec: Layout, last: int, cat) -> None:
    choices = ",".join(spec.status_choices)
    status = DataValidation(
        type="list",
        formula1=f'"{choices}"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Tình trạng - Status",
        error="Chọn trong danh sách - Choose from the list",
    )
    status.add(f"C{FIRST_ROW}:C{last}")
    ws.add_data_validation(status)
    for col, column in enumerate(sheet.columns, start=4):
        letter = get_column_letter(col)
        share = cat.loc[column.indicator, "unit"] == "%"
        rule = DataValidation(
            type="decimal",
            operator="between" if share else "greaterThanOrEqual",
            formula1="0",
            formula2="100" if share else None,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Số không hợp lệ - Invalid number",
            error=(
                "Nhập số từ 0 đến 100 - Type a number from 0 to 100"
                if share
                else "Nhập số không âm - Type a number ≥ 0"
            ),
        )
        rule.add(f"{letter}{FIRST_ROW}:{letter}{last}")
        ws.add_data_validation(rule)


def build_workbook(year: int, synthetic_note: str | None = None) -> Workbook:
    """The form for ``year``; ``synthetic_note`` labels test data on every sheet."""
    first, last = config.FIRST_EDITION_YEAR, config.MAX_YEAR
    if isinstance(year, bool) or not isinstance(year, int) or not first <= year <= last:
        raise ParameterError(f"--year {year!r}: expected a year between {first} and {last}")
    spec = layouts.load(LAYOUT_ID)
    wb = Workbook()
    _instructions(wb.active, year, spec, synthetic_note)
    wb.active.title = spec.instructions_sheet
    for sheet in spec.sheets:
        _theme_sheet(wb.create_sheet(sheet.sheet), year, sheet, spec, synthetic_note)
    wb.properties.title = f"{spec.title} {year}"
    wb.properties.creator = "kpi template"
    if synthetic_note:
        wb.properties.subject = synthetic_note
    return wb


def write_template(year: int, out: Path, synthetic_note: str | None = None) -> Path:
    """Write the form atomically; refuses to write into the raw data folder's existing files."""
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise ParameterError(f"--out {out}: expected a .xlsx file name")
    wb = build_workbook(year, synthetic_note)
    atomic_write(out, wb.save)
    return out
