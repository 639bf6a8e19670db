import pandas as pd

from kpi.sources import conflicts, echoes, pick


def table(rows: list[tuple]) -> pd.DataFrame:
    """Observations of fish output at 106 from (source, year, value, status)."""
    return pd.DataFrame(
        [
            {
                "indicator": "fish.output",
                "area_code": "106",
                "year": y,
                "value": v,
                "unit": "t",
                "status": st,
                "source_id": s,
                "source_ref": f"{s}:1",
            }
            for s, y, v, st in rows
        ]
    )


PRIORITY = {"report": 1, "news": 3}


def test_pick_takes_the_declared_priority():
    chosen = pick(table([("news", 2022, 300.0, "reported"), ("report", 2022, 146.0, "reported")]), PRIORITY)
    assert chosen[["source_id", "value"]].values.tolist() == [["report", 146.0]]


def test_lower_bound_above_the_chosen_value_is_a_conflict():
    out = conflicts(table([("report", 2022, 146.0, "reported"), ("news", 2022, 300.0, "lower_bound")]), PRIORITY)
    assert out[["chosen_value", "other_value", "other_status"]].values.tolist() == [[146.0, 300.0, "lower_bound"]]


def test_lower_bound_met_by_the_chosen_value_is_no_conflict():
    assert conflicts(table([("report", 2022, 350.0, "reported"), ("news", 2022, 300.0, "lower_bound")]), PRIORITY).empty


def test_difference_within_tolerance_is_no_conflict():
    assert conflicts(table([("report", 2022, 146.0, "reported"), ("news", 2022, 146.5, "reported")]), PRIORITY).empty


def test_same_value_in_another_year_is_flagged():
    out = echoes(table([("report", 2022, 10200.0, "reported"), ("news", 2021, 10200.0, "estimate")]))
    assert out["message"].tolist() == [
        "10,200 t is given for 2021 by news (estimate) and for 2022 by report (reported, report:1)"
    ]
