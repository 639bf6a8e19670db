"""The numbers behind every table and chart of a report, downloadable from the report itself.

A reader who got the report by e-mail cannot reach ``data/processed``; so under each table
and chart a link holds exactly its rows as CSV, and the report's end offers all of them as
one workbook.  Both are embedded as ``data:`` URIs: no server, no other host, one file.

CSV: UTF-8 with a byte-order mark (Excel on Windows then reads Vietnamese correctly),
columns named in the edition's language, plain ``.`` decimals and no thousands separators
whatever the edition (a CSV is read by programs and by Excel in any locale: ``1.947`` would
be 1.947 to some and 1947 to others), the unit in its own column, the status and the
source citation of each value.
"""

from __future__ import annotations

import base64
import re

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from kpi import labels, workbook
from kpi.views import Chart, Scope, Table

BOM = "\ufeff"
CSV_MIME = "text/csv;charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAME_CHARS = 31  # Excel's limit


SIGNIFICANT = 12  # digits: beyond any printed figure, short of float noise (51,4 tạ/ha × 0.1 = 5.140000000000001)


def plain(value: float) -> str:
    """A number as programs read it: ``.`` decimal mark, no grouping, no trailing ``.0``, no float noise.

    >>> plain(1947.0), plain(74.03), plain(11.03606645954343), plain(5.140000000000001), plain(1e16)
    ('1947', '74.03', '11.0360664595', '5.14', '10000000000000000')
    """
    text = f"{float(value):.{SIGNIFICANT}g}"
    if "e" in text:
        text = f"{float(value):.{SIGNIFICANT}f}".rstrip("0").rstrip(".")
    return text[:-2] if text.endswith(".0") else text


def csv_bytes(frame: pd.DataFrame) -> bytes:
    text = frame.to_csv(index=False, lineterminator="\r\n", float_format=plain)
    return (BOM + text).encode("utf-8")


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def file_stem(theme: str, scope: Scope) -> str:
    """``che_huyen-tam-duong_2012-2022_vi``: theme, area, period and language, like the report's own name."""
    head = labels.text("theme_slugs", theme, scope.lang) if theme else "kpi"
    return f"{head}_{slug_of(scope.area_name())}_{scope.baseline}-{scope.target}_{scope.lang}"


def link(href: str, name: str, text: str) -> str:
    from kpi.display import esc

    return f'<p class="kpi-download"><a download="{esc(name)}" href="{href}">{esc(text)}</a></p>'


def csv_link(item: Table | Chart, stem: str, scope: Scope) -> str:
    """The link under a table or chart: its rows as CSV."""
    name = f"{stem}_{slug_of(item.name)}.csv"
    return link(data_uri(csv_bytes(item.data), CSV_MIME), name, scope.t("download", "csv"))


def slug_of(name: str) -> str:
    from kpi.render import slug

    return slug(name)


def _sheet_title(title: str, limit: int = SHEET_NAME_CHARS) -> str:
    """A title as a sheet name: Excel's forbidden ``[]:*?/\\`` replaced, cut at a word to 31 characters with ``…``.

    >>> _sheet_title("Cold-water fish output: the sources side by side")
    'Cold-water fish output – the…'
    """
    text = " ".join(re.sub(r"\s*:\s*", " – ", re.sub(r"[\[\]*?/\\]", " ", title)).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cut.rstrip(" –,") + "…"


def sheet_names(items: list[Table | Chart]) -> list[str]:
    """One sheet per table or chart: its title as a sheet name (``_sheet_title``), unique."""
    names: list[str] = []
    for item in items:
        base = _sheet_title(item.title or item.name) or "data"
        name, n = base, 2
        while name.casefold() in (x.casefold() for x in names) or name.casefold() in RESERVED:
            suffix = f" ({n})"
            name, n = _sheet_title(item.title or item.name, SHEET_NAME_CHARS - len(suffix)) + suffix, n + 1
        names.append(name)
    return names


RESERVED = {"nguồn · sources", "ghi chú · notes"}


def report_workbook(items: list[Table | Chart], scope: Scope, sources: list[tuple], notes: list[tuple]) -> bytes:
    """Every table and chart of a report as a sheet, then the sources and the notes."""
    wb = Workbook()
    wb.remove(wb.active)
    kept: list[Table | Chart] = []
    for item in items:  # a chart drawn from a table's rows is in that table's sheet already
        same = any(item.data.equals(k.data) for k in kept)
        covered = isinstance(item, Chart) and item.keys and any(item.keys <= k.keys for k in kept)
        if not (same or covered):
            kept.append(item)
    for item, name in zip(kept, sheet_names(kept)):
        ws = wb.create_sheet(name)
        ws.append([item.title])
        ws.append(list(item.data.columns))
        for row in item.data.itertuples(index=False):
            ws.append([None if isinstance(v, float) and v != v else v for v in row])
        ws["A1"].font = Font(bold=True, size=12)
        workbook.style_header(ws, row=2)
        workbook.number_cells(ws, first_row=3)
        workbook.fit_widths(ws)
    _listing(
        wb, scope.t("download", "sources_sheet"), [scope.col(k) for k in ("number", "citation", "url", "note")], sources
    )
    _listing(wb, scope.t("download", "notes_sheet"), [scope.col(k) for k in ("kind", "indicator", "note")], notes)
    return workbook.to_bytes(wb)


def _listing(wb: Workbook, title: str, header: list[str], rows: list[tuple]) -> None:
    ws = wb.create_sheet(title)
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    workbook.style_header(ws)
    workbook.fit_widths(ws)


def workbook_section(shown: list, s: Scope, refs, indicators: list[str], stem: str) -> str:
    """The link at the end of a report: every table and chart shown as one workbook, with a sheet of
    the numbered sources and one of the notes (definitions, caveats, method, symbols)."""
    from kpi import display

    sources = [(n, doc.text, doc.url, detail) for n, doc, detail in refs.entries()]
    kinds = {k: s.t("sections", k) for k in ("definitions", "notes", "method", "symbols")}
    notes = [(kinds["definitions"], labels.indicator_name(i, s.lang), labels.definition(i, s.lang)) for i in indicators]
    notes += [
        (kinds["notes"], item.title, f"{letter}: {text}")
        for item in shown
        if isinstance(item, Table)
        for letter, text in item.notes
    ]
    notes += [
        (kinds["method"], "", s.t("method", k, baseline=s.baseline, target=s.target))
        for k in ("period", "baseline", "ratios", "priority", "statuses")
    ]
    notes += [(kinds["symbols"], symbol, meaning) for symbol, meaning in display.symbol_rows(s)]
    notes += [(kinds["symbols"], "", s.t("symbols", "markers"))]
    href = data_uri(report_workbook(shown, s, sources, notes), XLSX_MIME)
    section = display.section_html(s.t("download", "xlsx"), s.t("download", "xlsx_intro"))
    return f'<div class="kpi-download-all">{section}{link(href, f"{stem}.xlsx", s.t("download", "xlsx"))}</div>'
