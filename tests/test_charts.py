import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from kpi import charts, figures
from kpi.errors import KpiError


def series() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "indicator": "tea.area",
            "area_code": "106",
            "year": [2018, 2019, 2021, 2022, 2022],
            "value": [1424.0, 1493.9, 2000.0, 1947.0, 1900.0],
            "unit": "ha",
            "status": ["reported", "reported", "estimate", "reported", "lower_bound"],
            "source_id": ["public_facts", "public_facts", "public_facts", "bc24_annex", "other"],
        }
    )


def legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_trend_marks_statuses_and_units():
    fig = charts.trend(series(), "tea.area", lang="vi")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Diện tích (ha)" and fig._suptitle.get_text() == "Tổng diện tích chè"
    assert {"bc24_annex", "public_facts", "số in", "ước tính", "cận dưới"} <= set(legend_texts(fig))
    markers = {line.get_marker() for line in ax.lines if line.get_linestyle() == "None"}
    assert {"o", "D", "^"} <= markers
    assert ax.get_ylim()[0] == 0


def test_trend_joins_consecutive_years_only():
    fig = charts.trend(series(), "tea.area", lang="en")
    joined = [list(line.get_xdata()) for line in fig.axes[0].lines if len(line.get_xdata()) > 1]
    assert joined == [[2018, 2019]]  # 2019 → 2021 skips 2020: not joined


def test_trend_refuses_rows_of_several_areas_and_unknown_indicators():
    rows = pd.concat([series(), series().assign(area_code="03413")])
    with pytest.raises(KpiError, match=r"2 areas \(03413 \(Sơn Bình commune\), 106 \(Tam Đường district\)\)"):
        charts.trend(rows, "tea.area", lang="en")
    with pytest.raises(KpiError, match=r"'tea\.aera'.*closest indicators: tea\.area"):
        charts.trend(series(), "tea.aera", lang="en")


def test_trend_renders_vietnamese_without_missing_glyphs(tmp_path, recwarn):
    fig = charts.trend(series(), "tea.area", lang="vi")
    fig.savefig(tmp_path / "t.png")
    assert not [w for w in recwarn if "missing from font" in str(w.message).lower() or "Glyph" in str(w.message)]


def test_a_chart_is_not_registered_with_pyplot():
    """One call, one output: Jupyter shows the returned figure once and never a second copy by itself."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    charts.trend(series(), "tea.area", lang="vi")
    assert plt.get_fignums() == before


def test_bars_refuse_mixed_units():
    table = pd.DataFrame(
        {
            "area": ["a", "a"],
            "indicator": ["fish.tanks", "fish.output"],
            "value": [1.0, 2.0],
            "unit": ["tank", "t"],
            "status": "reported",
        }
    )
    with pytest.raises(KpiError, match="share one unit"):
        charts.bars(table, "area", ["fish.tanks", "fish.output"], "en", "x")


def test_bars_hatch_what_is_not_plainly_reported():
    table = pd.DataFrame(
        {
            "area": ["Sơn Bình", "Bản Bo", "X"],
            "indicator": "fish.tanks",
            "value": [323.0, 52.0, 300.0],
            "unit": "tank",
            "status": ["reported", "derived", "lower_bound"],
        }
    )
    fig = charts.bars(table, "area", ["fish.tanks"], "en", "Tanks")
    hatches = [p.get_hatch() for p in fig.axes[0].patches]
    assert hatches[:3] == [None, "//", "xx"]
    assert fig.axes[0].get_xlabel() == "Tanks" and fig.axes[0].get_xlim()[0] == 0
    assert figures.overlaps(fig) == []


def test_stacked_segments_too_narrow_for_their_number_are_left_unlabelled():
    table = pd.DataFrame(
        {
            "area": ["A"] * 2 + ["B"] * 2,
            "value": [1.0, 400.0, 200.0, 200.0],
            "unit": "facility",
            "indicator": ["livestock.farms_pig_100plus", "livestock.farms_pig_50plus"] * 2,
            "status": "reported",
        }
    )
    fig = charts.bars(
        table, "area", ["livestock.farms_pig_100plus", "livestock.farms_pig_50plus"], "vi", "x", stacked=True
    )
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "400" in texts and "1" not in texts  # the 1-farm sliver has no room for its label
    assert figures.overlaps(fig) == []


def test_the_longest_bar_keeps_its_value_beside_it_however_long_the_names():
    """320 initiatives, the longest bar under long field names: the value axis makes room for its label."""
    names = ["Giáo dục và đào tạo: số sáng kiến cao nhất trong một năm", "Y tế: số sáng kiến cao nhất trong một năm"]
    table = pd.DataFrame(
        {"label": names, "indicator": "value", "value": [320.0, 10.0], "unit": "initiative", "status": "reported"}
    )
    fig = charts.bars(table, "label", ["value"], "en", "Initiatives recognised in one year, by field")
    texts = [t.get_text().replace("\u00a0", " ") for t in fig.axes[0].texts]
    assert "320 initiatives" in texts and "10 initiatives" in texts
    assert figures.overlaps(fig) == []
