"""Rules over a column worked out once per distinct value (``kpi.columns``)."""

import random

import numpy as np
import pandas as pd

from kpi.columns import per_distinct

RULES = [
    lambda s: s.str.endswith((".increase", ".printed")),
    lambda s: s.str.contains("+", regex=False),
    lambda s: s.map({"tea.area": "sum", "tea.yield": "mean"}) == "sum",
    lambda s: s.map({"tea.area": "ha"}),
]


def test_the_rule_on_distinct_values_is_the_rule_on_every_value():
    rng = random.Random(5)  # synthetic columns, fixed seed
    pool = ["tea.area", "tea.yield", "tea.area.increase", "x.printed", "03413+03427", "106", ""]
    for _ in range(100):
        values = [rng.choice(pool) for _ in range(rng.randint(0, 40))]
        index = rng.sample(range(1000), len(values))
        for dtype in (object, "str"):
            column = pd.Series(values, index=index, dtype=dtype, name="indicator")
            for rule in RULES:
                pd.testing.assert_series_equal(per_distinct(column, rule), rule(column))


def test_missing_values_meet_the_rule_as_they_are():
    column = pd.Series(["a.printed", None, np.nan, "b"], dtype=object)
    rule = RULES[0]
    pd.testing.assert_series_equal(per_distinct(column, rule), rule(column))
