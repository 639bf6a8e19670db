import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from kpi import charts  # noqa: E402


def series() -> pd.DataFrame:
    return pd.DataFrame({"indicator": "tea.area", "area_code": "106", "year": [2018, 2021, 2022, 2022],
                         "value": [1424.0, 2000.0, 1947.0, 1900.0], "unit": "ha",
                         "status": ["reported", "estimate", "reported", "lower_bound"],
                         "source_id": ["public_facts", "public_facts", "bc24_annex", "other"]})


def test_trend_marks_statuses_and_units():
    charts.use_style()
    fig = charts.trend(series(), "tea.area", "vi")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Tổng diện tích chè (ha)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"bc24_annex", "public_facts", "số in trong nguồn", "ước tính / kế hoạch", "cận dưới (trên …)"} <= set(legend)
    markers = {line.get_marker() for line in ax.lines if line.get_linestyle() == "None"}
    assert {"o", "D", "^"} <= markers


def test_trend_renders_vietnamese_without_missing_glyphs(tmp_path, recwarn):
    fig = charts.trend(series(), "tea.area", "vi")
    fig.savefig(tmp_path / "t.png")
    assert not [w for w in recwarn if "missing from font" in str(w.message).lower() or "Glyph" in str(w.message)]


def test_bars_refuse_mixed_units():
    table = pd.DataFrame({"area": ["a", "a"], "indicator": ["fish.tanks", "fish.output"], "value": [1.0, 2.0],
                          "unit": ["tank", "t"], "status": "reported"})
    with pytest.raises(ValueError, match="share a unit"):
        charts.bars(table, "area", ["fish.tanks", "fish.output"], "en", "x")


def test_bars_hatch_derived_values():
    table = pd.DataFrame({"area": ["Sơn Bình", "Bản Bo"], "indicator": "fish.tanks", "value": [323.0, 52.0],
                          "unit": "tank", "status": ["reported", "derived"]})
    fig = charts.bars(table, "area", ["fish.tanks"], "en", "Tanks")
    hatches = [p.get_hatch() for p in fig.axes[0].patches]
    assert hatches[:2] == ["", "//"]
    assert fig.axes[0].get_xlabel() == "Value (tanks)"
