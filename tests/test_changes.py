import math

import pandas as pd
import pytest

from kpi.changes import compare
from kpi.errors import UnitMismatch


def obs(rows: list[tuple]) -> pd.DataFrame:
    """Observations at 106 from (indicator, year, value, unit, status, source)."""
    return pd.DataFrame(
        [
            {
                "indicator": i,
                "area_code": "106",
                "area_name": "Huyện Tam Đường",
                "year": y,
                "value": v,
                "unit": u,
                "status": st,
                "source_id": s,
                "source_ref": f"{s}:{y}",
            }
            for i, y, v, u, st, s in rows
        ]
    )


def test_two_period_comparison_carries_statuses():
    out = compare(
        obs(
            [
                ("tea.output_fresh", 2012, 3407.0, "t", "derived", "r"),
                ("tea.output_fresh", 2022, 10200.0, "t", "reported", "r"),
            ]
        ),
        2012,
        2022,
        priority={"r": 1},
    )
    row = out.iloc[0]
    assert (row["baseline_status"], row["target_status"], row["change_abs"]) == ("derived", "reported", 6793.0)
    assert row["change_pct"] == pytest.approx(199.38, abs=0.01)
    assert row["cagr_pct"] == pytest.approx(((10200 / 3407) ** 0.1 - 1) * 100)


def test_missing_baseline_is_missing_not_another_year():
    out = compare(
        obs(
            [
                ("tea.area", 2018, 1424.0, "ha", "reported", "p"),
                ("tea.area", 2022, 1947.0, "ha", "reported", "r"),
                ("tea.output_fresh", 2012, 3407.0, "t", "derived", "r"),
            ]
        ),  # 2012 has data, not tea.area
        2012,
        2022,
        priority={"r": 1, "p": 3},
    )
    row = out.set_index("indicator").loc["tea.area"]
    assert row["baseline_status"] == "missing" and math.isnan(row["baseline_value"]) and not row["complete"]
    assert math.isnan(row["change_abs"])


def test_source_priority_decides_each_end():
    out = compare(
        obs(
            [
                ("fish.output", 2022, 146.0, "t", "reported", "r"),
                ("fish.output", 2022, 300.0, "t", "lower_bound", "p"),
                ("fish.output", 2012, 50.0, "t", "reported", "p"),
            ]
        ),
        2012,
        2022,
        priority={"r": 1, "p": 3},
    )
    row = out.iloc[0]
    assert (row["target_value"], row["target_source"], row["baseline_source"]) == (146.0, "r", "p")


def test_units_must_agree():
    with pytest.raises(UnitMismatch, match="baseline in t but target in kg"):
        compare(
            obs([("fish.output", 2012, 1.0, "t", "reported", "r"), ("fish.output", 2022, 2.0, "kg", "reported", "r")]),
            2012,
            2022,
            priority={"r": 1},
        )


def test_printed_inputs_are_not_series():
    out = compare(
        obs(
            [
                ("dissemination.officials_share.printed", 2022, 93.7, "%", "reported", "r"),
                ("dissemination.officials_share.printed", 2012, 90.0, "%", "reported", "r"),
            ]
        ),
        2012,
        2022,
        priority={"r": 1},
    )
    assert out.empty


def test_a_year_without_any_data_is_an_error_naming_the_years_present():
    from kpi.errors import KpiError

    with pytest.raises(KpiError, match=r"year 2030: .*\(years present: 2012, 2022\)"):
        compare(
            obs([("tea.area", 2012, 1.0, "ha", "reported", "r"), ("tea.area", 2022, 2.0, "ha", "reported", "r")]),
            2012,
            2030,
            priority={"r": 1},
        )


def test_rows_in_any_order_give_the_same_changes():
    """With one value per cell no source is picked; the table is in the order of indicator and
    area whatever the order of the rows (synthetic values, fixed seed)."""
    import random

    rng = random.Random(3)
    rows = [
        (i, y, float(rng.randint(1, 500)), "ha", rng.choice(["reported", "estimate"]), "r")
        for i in ("tea.area", "crops.rice_area", "fish.tanks", "tea.output_fresh")
        for y in (2012, 2022)
        if rng.random() < 0.85
    ]
    table = obs(rows)
    table = pd.concat([table, table.assign(area_code="03413", area_name="Xã Sơn Bình")], ignore_index=True)
    base = compare(table, 2012, 2022, priority={"r": 1})
    for seed in range(5):
        shuffled = table.sample(frac=1, random_state=seed)
        pd.testing.assert_frame_equal(compare(shuffled, 2012, 2022, priority={"r": 1}), base)
    assert list(base["indicator"]) == sorted(base["indicator"])
    twice = pd.concat([table, table.assign(source_id="p", value=table["value"] + 1)], ignore_index=True)
    pd.testing.assert_frame_equal(compare(twice, 2012, 2022, priority={"r": 1, "p": 3}), base)  # r wins


def test_the_yearly_growth_is_the_same_number_on_every_processor():
    """Each CAGR is exactly ``cagr`` of its two ends (the C library's pow), not numpy's power,
    whose AVX-512 code differs in the last digits: changes.csv would differ from machine to machine."""
    import random

    from kpi.changes import cagr

    rng = random.Random(7)
    ends = [(rng.uniform(0.5, 5000), rng.uniform(0.5, 5000)) for _ in range(400)]
    rows = [(f"x.i{n}", y, v, "t", "reported", "r") for n, pair in enumerate(ends) for y, v in zip((2012, 2022), pair)]
    out = compare(obs(rows), 2012, 2022, priority={"r": 1}).set_index("indicator")
    got = [out.loc[f"x.i{n}", "cagr_pct"] for n in range(len(ends))]
    assert got == [cagr(b, t, 10) for b, t in ends]


@pytest.mark.parametrize("text", ["str", "string"], ids=["arrow-text", "nullable-text"])
def test_rows_without_an_indicator_or_an_area_in_every_kind_of_text(text):
    """What the comparison gave before it joined rows by position: a row whose indicator is missing
    is left out in pandas' nullable text (<NA>, which a mask must not be asked the truth of) and is
    a series of its own in Arrow text (NaN); one whose area is missing is a series of its own
    unless an area is asked for."""
    rows = obs([("tea.area", 2012, 10.0, "ha", "reported", "s"), ("tea.area", 2022, 12.0, "ha", "reported", "s")])
    holes = obs(
        [("fish.tanks", 2012, 3.0, "tank", "reported", "s"), ("fish.tanks", 2022, 5.0, "tank", "reported", "s")]
    )
    holes.loc[0, "indicator"], holes.loc[1, "area_code"] = None, None
    texts = ["indicator", "area_code", "area_name", "unit", "status", "source_id", "source_ref"]
    full = pd.concat([rows, holes], ignore_index=True).astype(dict.fromkeys(texts, text))
    shown = ["indicator", "area_code", "change_abs", "baseline_status", "target_status"]
    every = compare(full, 2012, 2022, priority={"s": 1})[shown].astype(object).where(lambda t: t.notna(), None)
    assert every.values.tolist()[:2] == [
        ["fish.tanks", None, None, "missing", "reported"],
        ["tea.area", "106", 2.0, "reported", "reported"],
    ]
    assert len(every) == (3 if text == "str" else 2)  # Arrow text keeps the row of no indicator: NaN is a value
    one = compare(full, 2012, 2022, area="106", priority={"s": 1})
    assert one["indicator"].tolist()[0] == "tea.area" and one["change_abs"].tolist()[0] == 2.0
