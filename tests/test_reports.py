"""What a reader sees in the built reports (issue: reports an official can read).

Four real sets are built once (``report_sets``: vi and en, 2012-2022 and 2018-2021). Charts
are also drawn in this process by running each notebook's code cells with the display
stubbed, so their text extents can be measured.
"""

from __future__ import annotations

import html as htmllib
import itertools
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from kpi import charts, config, display, downloads, figures, render
from kpi.errors import KpiError
from kpi.views import Chart

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

THEMES = ["overview", "crops", "tea", "livestock", "fish", "initiatives"]
NBSP = "\u00a0"


def text_of(page: str) -> str:
    """The words a reader sees: tags, styles and embedded images removed, entities decoded."""
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    page = re.sub(r'(?:src|href)="data:[^"]*"', "", page)
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def cells(page: str, label: str) -> list[str]:
    """The text of every table cell of a column (cells carry their column's name for phones)."""
    return [text_of(c) for c in re.findall(rf'<td[^>]*data-label="{re.escape(label)}"[^>]*>(.*?)</td>', page, re.S)]


@pytest.fixture(scope="module")
def sets(report_sets):
    return report_sets


# --------------------------------------------------------------------------- 1. only the period


@pytest.mark.parametrize("name, year_column", [("vi-2018", "Năm"), ("en-2018", "Year")])
def test_a_shorter_period_shows_no_figure_from_outside_it(sets, name, year_column):
    for theme in THEMES:
        page = sets[name][theme]
        years = [int(y) for y in cells(page, year_column)]
        assert all(2018 <= y <= 2021 for y in years), (theme, sorted(set(years)))
        for header in re.findall(r"<th[^>]*>([^<]*)</th>", page):
            assert "2022" not in header and "2012" not in header, (theme, header)
    # the themes with figures only for 2022 say so, naming the year they have, and show no table
    fish = sets[name]["fish"]
    body = fish.split('<article class="kpi-report">')[1].split('<div class="kpi-apparatus">')[0]
    assert "2022" in text_of(body) and '<table class="kpi-table">' not in body


def test_findings_and_conflicts_are_of_the_period(sets):
    full, short = text_of(sets["vi"]["overview"]), text_of(sets["vi-2018"]["overview"])
    assert "trên 300" in full and "146" in full  # the fish output conflict is of 2022
    assert "trên 300" not in short and "Các nguồn không mâu thuẫn nhau trong giai đoạn này." in short


# --------------------------------------------------------------------------- 2. the story first


def test_overview_tells_the_story_per_theme(sets):
    page = sets["vi"]["overview"]
    story = text_of(page.split("Các chỉ tiêu có số liệu ở cả hai năm")[0])
    for figure in ("1.947 ha", "10.200 t", "41.100 t", "388 bể", "146 t", "1.543 sáng kiến"):
        assert figure.replace(" ", NBSP) in story or figure in story, figure
    assert "Sản lượng chè búp tươi đạt 10.200 t năm 2022, tăng 6.793 t (+199,4 %) so với 2012." in story
    assert "Sản lượng lương thực có hạt đạt 41.100 t năm 2022, tăng 4.085 t (+11,0 %) so với 2012." in story
    english = text_of(sets["en"]["overview"])
    assert "Fresh tea bud output reached 10,200 t in 2022, up 6,793 t (+199.4 %) on 2012." in english


def test_indicators_of_one_year_are_a_table_with_values(sets):
    page = sets["vi"]["overview"]
    block = page.split("Các chỉ tiêu chỉ có số liệu một năm</h2>")[1].split("</table>")[0]
    assert len(re.findall("<tr>", block)) > 30
    assert "1.543" in block and "Số sáng kiến kinh nghiệm" in block and "(+46)" not in page


def test_a_commune_overview_shows_its_figures(tmp_path_factory, sets):
    from kpi import build

    root = sets["_root"]
    reports = tmp_path_factory.mktemp("commune")
    result = build.build(area="03413", data_dir=root / "data", reports_dir=reports, only="01_overview")
    overview = text_of(next(r for r in result.notebooks if r.theme == "overview").html_path.read_text("utf-8"))
    assert "Xã Sơn Bình" in overview and "323 bể" in overview and "23 cơ sở" in overview


# --------------------------------------------------------------------------- 3. sources for people


def test_sources_are_numbered_citations_with_links(sets):
    for name in ("vi", "en"):
        for theme in THEMES:
            page = sets[name][theme]
            used = set(re.findall(r'href="#ref-(\d+)"', page))
            listed = set(re.findall(r'<li id="ref-(\d+)"', page))
            assert used <= listed and listed, (name, theme, used - listed)
            shown = page.split('<div class="kpi-apparatus">')[0]
            assert "bc24_annex.xlsx!" not in text_of(shown) and "public_facts.csv:" not in text_of(shown)
            assert "bc24_annex" not in " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", shown))
    tea = sets["vi"]["tea"]
    assert "Báo cáo số 24-BC/HU" in text_of(tea) and "Ban Thường vụ Huyện ủy Tam Đường" in text_of(tea)
    assert re.search(r'<a href="http://tamduong\.laichau\.gov\.vn/[^"]+" rel="noreferrer">', tea)
    assert "Report No. 24-BC/HU" in text_of(sets["en"]["tea"])
    # the cell is the secondary detail, after the reference number
    assert re.search(r'<a class="kpi-ref" href="#ref-1">\[1\]</a> <span class="kpi-place">02_Che!D7</span>', tea)


# --------------------------------------------------------------------------- 4. caveats beside the figure


@pytest.mark.parametrize(
    "name, caveat",
    [
        ("vi", "Bài không ghi ngày (sau 2020): số được gán cho năm 2022 để đối chiếu."),
        ("en", "Undated article (after 2020): the figure is assigned to 2022 for comparison."),
    ],
)
def test_a_note_that_changes_the_meaning_stands_beside_the_figure(sets, name, caveat):
    page = sets[name]["fish"]
    block = next(b for b in page.split('<section class="kpi-block">') if "P22" in b)
    assert re.search(r'300\xa0t<sup class="kpi-mark">(\w)', block)
    letter = re.search(r'300\xa0t<sup class="kpi-mark">(\w)', block).group(1)
    assert f'<li><sup class="kpi-mark">{letter}</sup> {caveat}</li>' in block


# --------------------------------------------------------------------------- 5. the publication's apparatus


@pytest.mark.parametrize(
    "name, words",
    [
        (
            "vi",
            [
                "Định nghĩa các chỉ tiêu",
                "Phương pháp",
                "Ký hiệu",
                "Nguồn số liệu",
                "năm gốc = số năm so sánh − mức tăng",
                "Phiên bản dữ liệu",
            ],
        ),
        (
            "en",
            [
                "Definitions of the indicators",
                "Method",
                "Symbols",
                "Sources",
                "base year = latest figure − increase",
                "Data version",
            ],
        ),
    ],
)
def test_every_report_ends_with_definitions_method_symbols_and_sources(sets, name, words):
    for theme in THEMES:
        end = text_of(sets[name][theme].split('<div class="kpi-apparatus">')[1])
        for word in words:
            assert word in end, (theme, word)
    tea = text_of(sets[name]["tea"].split('<div class="kpi-apparatus">')[1])
    assert (
        "Diện tích chè đã qua thời kỳ kiến thiết cơ bản" if name == "vi" else "Tea area past the establishment"
    ) in tea


# --------------------------------------------------------------------------- 6. charts


def notebook_charts(theme: str, lang: str, baseline: int, target: int, data_dir: Path, monkeypatch) -> list[Chart]:
    """Run a report notebook's code in this process and return the charts it shows: nothing is shown,
    and the HTML, SVG and downloads around the charts are not made (the built reports are tested for those)."""
    path = next(config.NOTEBOOKS_DIR.glob(f"*_{theme}.ipynb"))
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setattr(display, "show", lambda markup: None)
    monkeypatch.setattr(display, "chart_html", lambda *args, **kwargs: "")
    monkeypatch.setattr(display, "table_html", lambda *args, **kwargs: "")
    monkeypatch.setattr(downloads, "csv_link", lambda *args, **kwargs: "")
    monkeypatch.setattr(downloads, "workbook_section", lambda *args, **kwargs: "")
    scope = {
        "baseline_year": baseline,
        "target_year": target,
        "area_code": "106",
        "lang": lang,
        "data_dir": str(data_dir),
    }
    for cell in nb.cells[1:]:
        if cell.cell_type == "code":
            exec(cell.source, scope)
    return [item for item in scope["ctx"].shown if isinstance(item, Chart)]


@pytest.fixture(scope="module")
def drawn(sets):
    mp = pytest.MonkeyPatch()
    out = {}
    try:
        for lang in ("vi", "en"):
            for baseline, target in ((2012, 2022), (2018, 2021)):
                for theme in THEMES:
                    out[(lang, baseline, theme)] = notebook_charts(
                        theme, lang, baseline, target, sets["_root"] / "data", mp
                    )
    finally:
        mp.undo()
    return out


def test_no_chart_has_colliding_labels(drawn):
    checked = 0
    for key, found in drawn.items():
        for chart in found:
            assert figures.overlaps(chart.figure) == [], (key, chart.title)
            checked += 1
    assert checked >= 30


def test_overlap_measure_finds_a_collision():
    """The measure above can fail: two labels drawn on one spot are found."""
    fig, ax = figures.new_figure(3)
    ax.text(0.5, 0.5, "1 cơ sở")
    ax.text(0.5, 0.5, "1 cơ sở")
    assert ("1 cơ sở", "1 cơ sở") in figures.overlaps(fig)


def test_charts_start_at_zero_never_join_missing_years_and_name_their_indicator(drawn):
    for key, found in drawn.items():
        titles = [c.title for c in found]
        assert len(titles) == len(set(titles)), (key, titles)
        for chart in found:
            ax = chart.figure.axes[0]
            value_axis = ax.get_xlim() if ax.patches else ax.get_ylim()
            assert value_axis[0] == 0, (key, chart.title)
            assert not ax.get_xlabel().startswith(("Giá trị", "Value")) and not ax.get_ylabel().startswith(
                ("Giá trị", "Value")
            )
            for line in ax.get_lines():
                xs = list(line.get_xdata())
                if len(xs) > 1:
                    assert all(b - a == 1 for a, b in itertools.pairwise(xs)), (key, chart.title, xs)
    tea = {c.title: c for c in drawn[("vi", 2012, "tea")]}
    assert set(tea) >= {"Tổng diện tích chè", "Sản lượng chè búp tươi", "Năng suất chè búp tươi"}
    fish_titles = [c.title for c in drawn[("en", 2012, "fish")]]
    assert (
        "Cold-water fish farms by commune, 2022" in fish_titles
        and "Cold-water fish tanks by commune, 2022" in fish_titles
    )
    assert "Cold-water fish output: the sources side by side" in fish_titles


def test_bounds_are_hatched_in_the_chart_as_in_the_legend(drawn):
    chart = next(c for c in drawn[("vi", 2012, "fish")] if c.title.startswith("Sản lượng cá nước lạnh: các nguồn"))
    ax = chart.figure.axes[0]
    hatches = {p.get_hatch() for p in ax.patches}
    assert "xx" in hatches and all(h in (None, "", *figures.HATCHES.values()) for h in hatches)
    legend = chart.figure.legends[0]
    assert [h.get_hatch() for h in legend.legend_handles if h.get_hatch()] == ["xx"]


def test_only_disjoint_classes_are_stacked():
    charts.check_stackable(
        ["livestock.farms_cattle_15plus", "livestock.farms_pig_100plus", "livestock.farms_pig_50plus"]
    )
    with pytest.raises(KpiError, match=r"fish\.facilities, fish\.tanks"):
        charts.check_stackable(["fish.facilities", "fish.tanks"])


def test_every_chart_has_alt_text_saying_what_it_shows(sets):
    for name in ("vi", "en"):
        for theme in THEMES:
            for alt in re.findall(r'<img [^>]*alt="([^"]*)"', sets[name][theme]):
                assert len(alt) > 40 and re.search(r"\d", alt), (name, theme, alt)
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', sets["en"]["tea"])
    assert any(a.startswith("Dot chart: Fresh tea bud output (t) from 2012 to 2022") and "2022" in a for a in alts)


# --------------------------------------------------------------------------- 7. each edition in its language


VIETNAMESE_IN_ENGLISH = [
    "số in",
    "cơ sở",
    "ước",
    "Nguồn",
    "Năm",
    "lúa",
    "ngô",
    "sản phẩm OCOP",
    "tính toán",
    "Chỉ tiêu",
    "Không có",
    "Tiếng Việt",
]  # words, not parts of proper names (An Phước)


def test_the_english_edition_reads_in_english(sets):
    for name in ("en", "en-2018"):
        for theme in THEMES:
            words = text_of(sets[name][theme].split('<div class="kpi-apparatus">')[0])
            for word in VIETNAMESE_IN_ENGLISH:
                assert not re.search(rf"(?<!\w){word}(?!\w)", words), (name, theme, word)
            assert not re.search(r"\b1\sfarms\b|\b1\shouseholds\b|\b1\stanks\b", words), (name, theme)
    crops = text_of(sets["en"]["crops"])
    assert "rice" in crops and "maize" in crops and "new variety" in crops
    assert "1 farm" in text_of(sets["en"]["livestock"])


def test_the_vietnamese_edition_reads_in_vietnamese(sets):
    for theme in THEMES:
        words = text_of(sets["vi"][theme])
        for word in ("(estimate", "reported", "derived", "Source", "Baseline", "farms", "Undated"):
            assert word not in words, (theme, word)


# --------------------------------------------------------------------------- 8. tables


def test_numbers_are_right_aligned_and_constant_columns_left_out(sets):
    tea = sets["vi"]["tea"]
    assert re.search(r'<td class="num" data-label="Giá trị"><span>1\.947\xa0ha', tea)
    assert 'data-label="Địa bàn"' not in tea.split("Chuỗi số liệu theo nguồn")[1].split("</table>")[0]
    partners = sets["vi"]["initiatives"].split("Dự án liên kết với doanh nghiệp")[1]
    assert "2\xa0ha" in partners and "4,57\xa0ha" in partners  # the value column carries its unit


def test_an_empty_check_means_no_problem_found(sets):
    page = text_of(sets["en-2018"]["overview"])
    assert "No problem found in this period." in page and "The sources do not disagree in this period." in page


# --------------------------------------------------------------------------- 9. sharing


def test_file_names_and_titles_say_theme_area_period_and_language(sets):
    paths = sets["vi"]["_paths"]
    assert paths["tea"].name == "03-che_huyen-tam-duong_2012-2022_vi.html"
    assert sets["en"]["_paths"]["tea"].name == "03-tea_tam-duong-district_2012-2022_en.html"
    assert "<title>Cây chè — Huyện Tam Đường, 2012–2022 · Tiếng Việt</title>" in sets["vi"]["tea"]
    assert "<title>Tea — Tam Đường district, 2018–2021 · English</title>" in sets["en-2018"]["tea"]
    names = {p.name for s in ("vi", "en", "vi-2018", "en-2018") for p in sets[s]["_paths"].values()}
    assert len(names) == 24  # no two attachments share a name


def test_each_report_links_its_other_edition_and_its_set(sets):
    vi_tea = sets["vi"]["_paths"]["tea"]
    page = vi_tea.read_text(encoding="utf-8")  # re-linked after the English set was built
    nav = page.split('<nav class="kpi-nav"')[1].split("</nav>")[0]
    assert 'href="../../../en/106/2012-2022/03-tea_tam-duong-district_2012-2022_en.html" hreflang="en"' in nav
    for other in ("01-tong-quan", "02-luong-thuc", "04-chan-nuoi", "05-ca-nuoc-lanh", "06-sang-kien"):
        assert f'href="{other}_huyen-tam-duong_2012-2022_vi.html"' in nav
    index = (sets["_root"] / "reports" / "index.html").read_text(encoding="utf-8")
    assert index.index("2018–2021") > index.index("2012–2022")  # newest period first
    assert "data/processed" not in text_of(page)


# --------------------------------------------------------------------------- 10. print, phone, screen readers


def test_pages_carry_print_and_phone_styles_and_their_language(sets):
    assert "@media print" in render.css() and "@page { size: A4" in render.css() and "max-width: 640px" in render.css()
    for name, lang in (("vi", "vi"), ("en", "en"), ("vi-2018", "vi"), ("en-2018", "en")):
        for theme in THEMES:
            page = sets[name][theme]
            assert page.startswith(f'<!DOCTYPE html>\n<html lang="{lang}">')
            assert "data:image/png" not in page  # charts are SVG: crisp on paper
            assert len(page.encode()) <= 600_000


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed (CI installs it in .ci/run)")
    return path


FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_a_report_prints_to_a4_and_shows_on_a_phone(chromium_path, sets, tmp_path):
    page = sets["vi"]["_paths"]["tea"]
    pdf, shot = tmp_path / "tea.pdf", tmp_path / "phone.png"
    for extra in (
        [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"],
        [f"--screenshot={shot}", "--window-size=420,2400"],
    ):
        proc = subprocess.run(
            [chromium_path, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-1000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and 2 <= len(re.findall(rb"/Type\s*/Page\b", data)) <= 12
    boxes = {tuple(round(float(v)) for v in m.split()) for m in re.findall(rb"/MediaBox \[([^\]]*)\]", data)}
    assert boxes == {(0, 0, 595, 842)}  # A4 in points
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[1] == 420 and pixels[..., :3].std() > 0.05


def test_on_a_420_px_phone_nothing_is_wider_than_the_screen(chromium_path, sets):
    """Every report of both editions, at 420 px: the page does not scroll sideways, nor does any chart."""
    from playwright.sync_api import sync_playwright

    wide = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 420, "height": 900})
        for name in ("vi", "en"):
            for theme, path in sets[name]["_paths"].items():
                page.goto(path.as_uri())
                width = page.evaluate("document.documentElement.scrollWidth")
                charts = page.evaluate("[...document.images].map(i => i.getBoundingClientRect().right)")
                if width > 420 or any(right > 420 for right in charts):
                    wide[(name, theme)] = (width, max(charts, default=0))
        browser.close()
    assert wide == {}


def test_the_readers_trial_findings_stay_fixed(sets):
    """What a reader's trial found, each stated by what the page shows."""
    en, vi = sets["en"], sets["vi"]
    assert "by commune and scale by commune" not in en["livestock"]  # a title that said "by commune" twice
    assert "theo xã và quy mô theo xã" not in vi["livestock"]
    assert "the lowest and the highest" in en["initiatives"]  # a range's two ends are not a year's count
    assert "(increase)" not in vi["tea"] and "(mức tăng)" in vi["tea"]  # a source's place in the edition's words
    assert all("(trồng trọt)" not in page for page in en.values() if isinstance(page, str))
    assert "(crop farming)" in en["overview"]
    for name in ("vi", "en"):  # web pages are cited by title and date, not by the site's name alone
        refs = sets[name]["fish"].split('class="kpi-references"')[1].split("</ol>")[0]
        assert "Tận dụng địa thế để nuôi cá nước lạnh ở Lai Châu" in refs or "Using the terrain" in refs
    for name, heading, note in (("vi", "Các nguồn khác nhau", "không ghi ngày"), ("en", "Source conflicts", "ndated")):
        table = sets[name]["overview"].split(f">{heading}</")[-1].split("</section>")[0]
        assert "P22" in table and 'class="kpi-mark"' in table and note in table, name  # the caveat beside it
        assert '<th scope="col">' + ("Địa bàn" if name == "vi" else "Area") + "</th>" not in table  # one area


def test_no_report_carries_text_the_kernel_printed(sets):
    """A report shows its blocks only: no stream a kernel printed (a warning, IPython's history error)."""
    for name in ("vi", "en", "vi-2018", "en-2018"):
        for theme, page in sets[name].items():
            if isinstance(page, str):
                assert "output_stream" not in page and "History logging" not in page, (name, theme)
