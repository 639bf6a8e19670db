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


def test_pick_keeps_the_rows_sorting_the_whole_table_keeps():
    """``pick`` ranks on integer codes: the same rows, in the same order and of the same types, as
    ranking the whole table with ``sort_values`` and keeping each cell's first row (SYNTHETIC
    observations, fixed seed: missing areas and statuses, sources without a priority, ties)."""
    import random

    import numpy as np

    from kpi.sources import CELL, _ranked

    rng = random.Random(5)
    for dtype in (object, "str"):
        for _ in range(40):
            n = rng.randint(0, 60)
            obs = pd.DataFrame(
                {
                    "indicator": pd.Series(
                        [rng.choice(["fish.output", "tea.area", "Ấ"]) for _ in range(n)], dtype=dtype
                    ),
                    "area_code": pd.Series([rng.choice(["106", "03413", None]) for _ in range(n)], dtype=dtype),
                    "year": [rng.choice([2012, 2022]) for _ in range(n)],
                    "value": [float(i) for i in range(n)],
                    "status": pd.Series(
                        [rng.choice(["reported", "derived", "estimate", "odd", None]) for _ in range(n)], dtype=dtype
                    ),
                    "source_id": pd.Series(
                        [rng.choice(["report", "news", "other", "b"]) for _ in range(n)], dtype=dtype
                    ),
                },
                index=np.arange(n) * 3,
            )
            want = _ranked(obs, PRIORITY).drop_duplicates(CELL, keep="first").drop(columns=["_priority", "_status"])
            pd.testing.assert_frame_equal(pick(obs, PRIORITY), want.reset_index(drop=True))
