"""Views, story and citations on tiny inline frames: what a reader is told, before any HTML."""

from __future__ import annotations

import pandas as pd
import pytest

from kpi import cite, story, views
from kpi.views import Scope

SOURCES = pd.DataFrame(
    {
        "source_id": ["bc24_annex", "public_facts", "form_2023"],
        "priority": [1, 3, 1],
        "title": ["Annex", "Public figures", "Tam Đường yearly figures 2023 (form)"],
        "file": ["bc24_annex.xlsx", "public_facts.csv", "form_2023.xlsx"],
        "source": ["", "", "Phòng Nông nghiệp huyện Tam Đường"],
        "url": "",
        "accessed": ["2026-11-28", "2026-11-28", "2024-02-20"],
    }
)
PORTAL = "http://tamduong.laichau.gov.vn/savefile/nong-lam-nghiep/tam-duong-khong-ngung-mo-rong-dien-tich-che-2326.html"


def obs(**columns) -> pd.DataFrame:
    """
    indicator | area_code | year | value | unit | status   | source_id  | source_ref | note
    tea.area  | 106       | ...  | ...   | ha   | reported | bc24_annex | r          |
    """
    base = {
        "indicator": "tea.area",
        "area_code": "106",
        "area_name": "Huyện Tam Đường",
        "year": 2022,
        "value": 1.0,
        "unit": "ha",
        "status": "reported",
        "source_id": "bc24_annex",
        "source_ref": "bc24_annex.xlsx!02_Che!C7",
        "note": "",
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_one_document_one_number_whatever_the_file():
    refs = cite.References(SOURCES, "vi")
    assert refs.label("bc24_annex", "bc24_annex.xlsx!02_Che!D7") == "[1] 02_Che!D7"
    assert refs.number("public_facts", "public_facts.csv:2 P1", f'"1.424ha"; district portal; {PORTAL}') == 2
    assert refs.number("public_facts", "public_facts.csv:3 P2", f"x; {PORTAL}") == 2  # the same page
    number, doc, detail = refs.entries()[1]
    assert (number, doc.url) == (2, PORTAL) and "Cổng thông tin điện tử huyện Tam Đường" in doc.text
    assert "truy cập ngày 28/11/2026" in detail


def test_a_derived_value_is_cited_by_the_page_of_its_inputs():
    note_of = {("public_facts", "public_facts.csv:14 P13"): f"quote; thesis excerpt; {PORTAL}"}
    refs = cite.References(SOURCES, "en", note_of)
    ref = "public_facts.csv:14 P13 − public_facts.csv:14 P13 (increase)"
    assert refs.url("public_facts", ref, "2015 = 2019 value 7,175 − printed increase 3,239 on 2015") == PORTAL


def test_a_source_outside_the_documents_table_is_cited_from_its_record():
    refs = cite.References(SOURCES, "en")
    assert (
        refs.citation("form_2023", "form_2023.xlsx!1_LuongThuc!C7")
        == "[1] Tam Đường yearly figures 2023 (form). Phòng Nông nghiệp huyện Tam Đường."
    )


@pytest.mark.parametrize(
    "note, lang, expected",
    [
        pytest.param(
            "năm khoảng 2018; hai xã gộp chung",
            "en",
            ["The year of the figure is approximate (about 2018).", "One figure for two communes together."],
            id="two-caveats",
        ),
        pytest.param('"1.424ha"; district portal; http://x', "en", [], id="quote-is-not-a-caveat"),
        pytest.param("tháng 6/2022", "en", ["Figure as of June 2022."], id="month"),
    ],
)
def test_caveats_in_the_edition_language(note, lang, expected):
    assert cite.caveats(note, lang) == expected


def test_views_keep_to_the_period_and_say_what_lies_outside():
    scope = Scope(2018, 2021, "106", "en")
    rows = obs(year=[2012, 2018, 2022], value=[1.0, 2.0, 3.0])
    assert views.in_period(rows, scope)["year"].tolist() == [2018]
    message = views.empty_text(obs(indicator="fish.output", year=[2022]), ["fish.output"], scope)
    assert "2018–2021" in message and "2022" in message


def test_value_table_shows_text_and_keeps_plain_values_for_download():
    scope = Scope(2012, 2022, "106", "vi")
    refs = cite.References(SOURCES, "vi")
    rows = obs(
        indicator="fish.output",
        unit="t",
        year=[2022, 2022],
        value=[146.0, 300.0],
        status=["reported", "lower_bound"],
        source_id=["bc24_annex", "public_facts"],
        source_ref=["bc24_annex.xlsx!04_CaNuocLanh!H7", "public_facts.csv:23 P22"],
        note=["", "bài không ghi ngày, sau 2020: năm gán 2022 để đối chiếu"],
    )
    table = views.value_table(rows, scope, refs, "fish", "Sản lượng")
    assert table.shown["Giá trị"].tolist() == ["146\u00a0t", "trên 300\u00a0t"]
    assert table.data["Giá trị"].tolist() == [146.0, 300.0] and table.data["Đơn vị"].tolist() == ["t", "t"]
    assert "Địa bàn" not in table.shown  # one area: named once, in the caption
    assert table.marks == {(1, "Giá trị"): "a"} and table.notes[0][0] == "a"
    assert table.shown["Nguồn"].tolist() == ["[1] 04_CaNuocLanh!H7", "[2] P22"]


def test_key_figures_and_sentence_of_a_theme():
    scope = Scope(2012, 2022, "106", "en")
    best = obs(
        indicator=["tea.area", "tea.output_fresh", "tea.output_fresh"],
        unit=["ha", "t", "t"],
        year=[2022, 2012, 2022],
        value=[1947.0, 3407.0, 10200.0],
        status=["reported", "derived", "reported"],
    )
    from kpi.changes import compare

    changes = compare(best, 2012, 2022, priority={"bc24_annex": 1})
    figures, lead = story.theme_story(best, changes, scope, "tea")
    assert [f.indicator for f in figures] == ["tea.area", "tea.output_fresh"]
    assert figures[0].change == "no 2012 figure" and figures[1].change.startswith("+6,793")
    assert (
        lead.replace("\u00a0", " ") == "Fresh tea bud output reached 10,200 t in 2022, up 6,793 t (+199.4 %) on 2012."
    )


def test_a_reaggregated_figure_says_where_it_comes_from():
    note = "re-aggregated to the 2025 unit (Res. 1670/NQ-UBTVQH15 cl. 10): Thị trấn Tam Đường 2, Xã Sơn Bình 1,323"
    (vi,) = cite.caveats(note, "vi")
    assert "khoản 10" in vi and "Thị trấn Tam Đường 2, Xã Sơn Bình 1.323." in vi


def test_one_code_for_two_areas_is_never_one_change():
    """03390 was Thị trấn Tam Đường, then Xã Bình Lư: their figures are not one area's series."""
    from kpi.changes import compare
    from kpi.errors import KpiError

    rows = obs(
        indicator="fish.tanks",
        unit="tank",
        area_code="03390",
        year=[2022, 2026],
        value=[10.0, 400.0],
        area_name=["Thị trấn Tam Đường", "Xã Bình Lư"],
    )
    with pytest.raises(KpiError, match=r"03390 is Thị trấn Tam Đường in 2022 and Xã Bình Lư in 2026"):
        compare(rows, 2022, 2026, priority={"bc24_annex": 1})
    regrouped = rows.assign(area_name="Xã Bình Lư")  # the old units summed into the new one
    assert compare(regrouped, 2022, 2026, priority={"bc24_annex": 1})["change_abs"].tolist() == [390.0]


def test_an_echo_is_never_across_a_reused_code():
    from kpi.sources import echoes

    rows = obs(
        indicator="fish.tanks",
        unit="tank",
        area_code="03390",
        year=[2022, 2026],
        value=[10.0, 10.0],
        source_id=["a", "b"],
    )
    assert echoes(rows).empty
    assert len(echoes(rows.assign(area_code="03424", year=[2022, 2023]))) == 1
