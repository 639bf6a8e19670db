"""The house style of the workbooks the project writes (``kpi export``, a report's data).

Bold header on a pale blue fill, wrapped; the header frozen; columns as wide as their
content up to ``MAX_WIDTH``; plain numbers right-aligned with a thousands format.  Files are
made reproducible: the same tables give the same bytes (fixed document times, fixed zip
entry times), so a report rebuilt from the same data is the same file.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
MAX_WIDTH = 60  # characters; longer text wraps
FIXED_TIME = datetime(2000, 1, 1)  # document times: the data version, not the clock, says which edition it is
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
CORE_PART = "docProps/core.xml"  # openpyxl stamps the clock into its modified time on every save
MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def style_header(ws: Worksheet, row: int = 1, freeze: str | None = None) -> None:
    for cell in ws[row]:
        cell.font, cell.fill = Font(bold=True), HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = freeze or f"A{row + 1}"


def fit_widths(ws: Worksheet, minimum: int = 10) -> None:
    for col in range(1, ws.max_column + 1):
        letter = get_column_letter(col)
        width = max((len(str(c.value)) for c in ws[letter] if c.value is not None), default=0)
        ws.column_dimensions[letter].width = min(MAX_WIDTH, max(minimum, width + 2))


def number_cells(ws: Worksheet, first_row: int) -> None:
    """Plain numbers shown with a thousands separator in the reader's Excel, right-aligned."""
    for row in ws.iter_rows(min_row=first_row):
        for cell in row:
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = "#,##0.##########" if isinstance(cell.value, float) else "0"
                cell.alignment = Alignment(horizontal="right")


def to_bytes(wb: Workbook) -> bytes:
    """The workbook as bytes, the same bytes for the same content."""
    wb.properties.created = wb.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    wb.save(buffer)
    return reproducible_zip(buffer.getvalue())


def reproducible_zip(data: bytes) -> bytes:
    """The same archive with every entry's time fixed (zip writers stamp the clock)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = item.external_attr
            content = src.read(item.filename)
            if item.filename == CORE_PART:
                content = MODIFIED.sub(rb"\g<1>" + FIXED_TIME.isoformat().encode() + rb"Z\g<2>", content)
            dst.writestr(info, content)
    return out.getvalue()
