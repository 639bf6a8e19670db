"""The numbers behind every table and chart, downloadable from the report itself.

Every embedded download of every report (vi and en, two periods; built once by
``report_sets``) is decoded and compared with what the report shows, value by value.
"""

from __future__ import annotations

import base64
import csv
import html as htmllib
import io
import math
import re
import shutil

import openpyxl
import pytest

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

THEMES = ["overview", "crops", "tea", "livestock", "fish", "initiatives"]
SETS = ["vi", "en", "vi-2018", "en-2018"]
PREFIXES = ("trên ", "dưới ", "ước ", "sơ bộ ", "over ", "under ", "about ", "prel. ")
LINK = re.compile(r'<a download="([^"]+)" href="data:([^;]+);(?:charset=utf-8;)?base64,([^"]+)"')


def unhtml(fragment: str) -> str:
    fragment = re.sub(r'<sup class="kpi-mark">.*?</sup>', "", fragment).replace("<br>", " ")
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def shown(text: str, lang: str) -> tuple[float, int]:
    """A figure as the edition prints it (``trên 1.947 ha``, ``+199,4``, ``1,947.5 t``): its value and decimals."""
    text = text.replace("\u00a0", " ").strip()
    if text in ("–", ""):
        return math.nan, 0
    for prefix in PREFIXES:
        text = text.removeprefix(prefix)
    number = text.split(" ")[0].lstrip("+")
    mark = "," if lang == "vi" else "."
    decimals = len(number.split(mark)[1]) if mark in number else 0
    number = number.replace(".", "").replace(",", ".") if lang == "vi" else number.replace(",", "")
    return float(number), decimals


def shown_number(text: str, lang: str) -> float:
    return shown(text, lang)[0]


def agrees(text: str, value: str, lang: str) -> bool:
    """The printed figure is the plain value rounded to the decimals printed."""
    number, decimals = shown(text, lang)
    return abs(number - float(value)) <= 0.5 * 10**-decimals + 1e-9


def blocks(page: str) -> list[tuple[str, str]]:
    """(kind, html) of every table block and chart that carries a CSV download."""
    found = [
        ("table", b)
        for b in re.findall(r'<section class="kpi-block">(.*?)</section>', page, re.S)
        if "kpi-download" in b
    ]
    found += [("chart", b) for b in re.findall(r'<figure class="kpi-chart"[^>]*>(.*?)</figure>', page, re.S)]
    return found


def decoded_csv(block: str) -> tuple[str, list[dict[str, str]], bytes]:
    name, mime, payload = LINK.search(block).groups()
    data = base64.b64decode(payload)
    assert mime == "text/csv"
    return name, list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")))), data


def decoded_rows(block: str) -> list[list[str]]:
    _, _, payload = LINK.search(block).groups()
    return list(csv.reader(io.StringIO(base64.b64decode(payload).decode("utf-8-sig"))))


def same_rows(got: list[list], want: list[list[str]]) -> bool:
    """A sheet's rows (from row 2: header, then data) equal a CSV's, numbers within 12 digits."""
    if len(got) != len(want):
        return False
    return all(
        [pytest.approx(float(w), rel=1e-11) if isinstance(g, (int, float)) else w for g, w in zip(gr, wr)] == gr
        for gr, wr in zip(got, want)
    )


def table_rows(block: str) -> tuple[list[str], list[list[str]]]:
    head = [unhtml(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", block.split("</thead>")[0], re.S)]
    body = block.split("<tbody>")[1].split("</tbody>")[0]
    rows = [
        [unhtml(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
    return head, rows


@pytest.fixture(scope="module")
def reports(report_sets):
    return report_sets


def every(reports, wanted: str):
    """(set, language, theme, html) of every table or chart block with a download, in every report."""
    for name in SETS:
        for theme in THEMES:
            for kind, block in blocks(reports[name][theme]):
                if kind == wanted:
                    yield name, name[:2], theme, block


def test_every_table_download_holds_exactly_the_rows_shown(reports):
    compared = 0
    for name, lang, theme, block in every(reports, "table"):
        _, records, data = decoded_csv(block)
        assert data.startswith("\ufeff".encode()), (name, theme)
        head, rows = table_rows(block)
        assert len(records) == len(rows), (name, theme, head)
        for shown, record in zip(rows, records):
            for column, text in zip(head, shown):
                if column not in record:
                    continue
                compared += 1
                value = record[column]
                if re.fullmatch(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", value):
                    assert agrees(text, value, lang), (name, theme, column, text, value)
                elif re.match(r"\[\d+\]", value):  # a citation: the report shows its number and place
                    assert re.findall(r"\[\d+\]", text)[:1] == re.findall(r"\[\d+\]", value)[:1], (text, value)
                elif value == "" and text == "–":
                    pass
                else:
                    assert text == " ".join(value.split()), (name, theme, column, text, value)
    assert compared > 1500


def test_every_chart_download_holds_the_values_drawn(reports):
    """A chart's alt text lists the values it draws; its download holds the same values."""
    charts = 0
    for name, lang, theme, block in every(reports, "chart"):
        charts += 1
        _, records, _ = decoded_csv(block)
        alt = htmllib.unescape(re.search(r'alt="([^"]*)"', block).group(1))
        drawn = [shown_number(v, lang) for v in re.findall(r": ((?:[^:;]+?)\xa0[^;(]+)", alt)]
        value_column = "Giá trị" if lang == "vi" else "Value"
        values = sorted(float(r[value_column]) for r in records)
        assert drawn and sorted(drawn) == pytest.approx(
            values[: len(drawn)] if len(drawn) < len(values) else values, rel=0.01
        ), (name, theme, alt)
    assert charts >= 30


def test_downloads_are_plain_numbers_with_unit_status_and_citation(reports):
    page = reports["vi"]["tea"]
    block = next(b for k, b in blocks(page) if "Chuỗi số liệu theo nguồn" in page.split(b)[0][-3000:] or "P14" in b)
    _, records, data = decoded_csv(block)
    assert set(records[0]) >= {"Chỉ tiêu", "Năm", "Giá trị", "Đơn vị", "Tình trạng", "Nguồn", "Vị trí trong nguồn"}
    area = next(r for r in records if r["Năm"] == "2019" and r["Chỉ tiêu"] == "Tổng diện tích chè")
    assert area["Giá trị"] == "1493.9" and area["Đơn vị"] == "ha"  # 1.493,9 as printed: a plain number here
    assert area["Nguồn"].startswith("[3] 123docz.net") and "https://123docz.net/" in area["Nguồn"]
    assert b"1.493,9" not in data and b"1,493.9" not in data


def test_download_names_say_theme_area_period_and_language(reports):
    names = {n for s in SETS for t in THEMES for n, _, _ in LINK.findall(reports[s][t])}
    assert "che_huyen-tam-duong_2012-2022_vi.xlsx" in names and "tea_tam-duong-district_2018-2021_en.xlsx" in names
    assert any(re.fullmatch(r"ca-nuoc-lanh_huyen-tam-duong_2012-2022_vi_[a-z0-9-]+\.csv", n) for n in names)
    per_report = [LINK.findall(reports[s][t]) for s in SETS for t in THEMES]
    assert all(len({n for n, _, _ in links}) == len(links) for links in per_report)  # no two alike in a report


def test_the_report_workbook_holds_every_table_sources_and_notes(reports):
    for name in ("vi", "en-2018"):
        lang = name[:2]
        for theme in THEMES:
            page = reports[name][theme]
            links = LINK.findall(page)
            xlsx = [(n, base64.b64decode(p)) for n, m, p in links if m.endswith("spreadsheetml.sheet")]
            tables = [decoded_rows(b) for k, b in blocks(page) if k == "table"]
            charts = [decoded_rows(b) for k, b in blocks(page) if k == "chart"]
            assert len(xlsx) == (1 if tables or charts else 0), (name, theme)  # no figure in its period: none
            if not xlsx:
                continue
            book = openpyxl.load_workbook(io.BytesIO(xlsx[0][1]))
            assert book.sheetnames[-2:] == ["Nguồn · Sources", "Ghi chú · Notes"]
            assert all(len(n) <= 31 and ":" not in n for n in book.sheetnames)
            sheets = []
            for sheet in book.worksheets[:-2]:
                assert sheet.freeze_panes == "A3" and sheet["A2"].font.bold
                sheets.append(
                    [["" if v is None else v for v in row] for row in sheet.iter_rows(min_row=2, values_only=True)]
                )
            for rows in tables:  # every table is a sheet, value by value (numbers as numbers, 12 digits in CSV)
                assert any(same_rows(got, rows) for got in sheets), (name, theme, rows[0])
            for rows in charts:  # a chart's values are in one sheet: its own, or the table of the same figures
                column = rows[0].index("Giá trị" if lang == "vi" else "Value")
                drawn = {round(float(r[column]), 6) for r in rows[1:]}
                numbers = [
                    {round(float(v), 6) for r in got for v in r if isinstance(v, (int, float))} for got in sheets
                ]
                assert any(drawn <= held for held in numbers), (name, theme, rows[0])
            sources = list(book["Nguồn · Sources"].iter_rows(min_row=2, values_only=True))
            assert sources and all(isinstance(r[0], int) for r in sources)
            notes = list(book["Ghi chú · Notes"].iter_rows(min_row=2, values_only=True))
            kind = "Định nghĩa các chỉ tiêu" if lang == "vi" else "Definitions of the indicators"
            assert any(r[0] == kind for r in notes), (name, theme)
    fish = reports["en"]["fish"]
    book = openpyxl.load_workbook(
        io.BytesIO(base64.b64decode(next(p for _, m, p in LINK.findall(fish) if m.endswith("sheet"))))
    )
    urls = [r[2] for r in book["Nguồn · Sources"].iter_rows(min_row=2, values_only=True)]
    assert "https://tepbac.com/tin-tuc/full/tan-dung-dia-the-de-nuoi-ca-nuoc-lanh-o-lai-chau-35985.html" in urls
    notes = [r[2] for r in book["Ghi chú · Notes"].iter_rows(min_row=2, values_only=True)]
    assert any("Undated article" in (n or "") for n in notes)


def test_the_same_data_gives_the_same_workbook_bytes(reports):
    """Fixed document and zip times: a report rebuilt from the same data is the same file."""
    from kpi import workbook

    book = openpyxl.Workbook()
    book.active.append(["a", 1.5])
    assert workbook.to_bytes(book) == workbook.to_bytes(book)


def test_the_largest_report_stays_within_600_kb(reports):
    sizes = {(s, t): len(reports[s][t].encode()) for s in SETS for t in THEMES}
    assert max(sizes.values()) <= 600_000, max(sizes.items(), key=lambda kv: kv[1])


def test_a_click_in_a_browser_downloads_the_data(reports, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (CI installs it in .ci/run)")
    from playwright.sync_api import sync_playwright

    page_path = reports["vi"]["_paths"]["fish"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(accept_downloads=True)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.as_uri())
        with page.expect_download() as info:
            page.get_by_text("Tải số liệu (CSV)").first.click()
        download = info.value
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        with page.expect_download() as info:
            page.get_by_text("Tải toàn bộ số liệu của báo cáo (Excel)").last.click()
        book_path = tmp_path / info.value.suggested_filename
        info.value.save_as(book_path)
        browser.close()
    assert target.name.startswith("ca-nuoc-lanh_huyen-tam-duong_2012-2022_vi_") and target.suffix == ".csv"
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows and "Sơn Bình" in " ".join(r["Địa bàn"] for r in rows)
    assert openpyxl.load_workbook(book_path).sheetnames[-1] == "Ghi chú · Notes"
    assert all(u.startswith(("file:", "data:")) for u in requests), requests  # nothing from another host
