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


def _same(a: object, b: object) -> bool:
    """Equal and of the same type; NaN equal to NaN (what the JSON writer would write alike)."""
    if type(a) is not type(b):
        return False
    return (a != a and b != b) or a is b or a == b


def test_records_are_pandas_records_value_for_value():
    """Seeded frames (synthetic) of every column type a table here holds, and some it does not:
    the same dicts as ``to_dict("records")``, each value of the same type."""
    import warnings

    from kpi.columns import records

    rng = np.random.default_rng(20261204)
    pool = ["x", "", None, float("nan"), pd.NA, np.int64(3), np.float64(2.5), np.bool_(True), 7, "Xã Bản Giang"]
    for _ in range(60):
        n = int(rng.integers(0, 12))
        picks = [pool[i] for i in rng.integers(0, len(pool), n)]
        frame = pd.DataFrame(
            {
                "whole": rng.integers(-5, 5, n),
                "real": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
                "mixed": pd.Series(picks, dtype=object),
                "text": pd.Series([v if isinstance(v, str) else None for v in picks], dtype="str"),
                "flag": rng.random(n) < 0.5,
                "nullable": pd.array([None if i % 3 == 0 else int(i) for i in range(n)], dtype="Int64"),
                "kind": pd.Categorical(rng.choice(["a", "b"], n)),
                "when": pd.to_datetime(rng.integers(0, 10**9, n), unit="s"),
            }
        )
        for table in (frame, frame[["mixed", "mixed", "whole"]], frame.iloc[:, :0]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # pandas: columns not unique, the last kept
                expected = table.to_dict("records")
            got = records(table)
            assert len(got) == len(expected)
            for want, have in zip(expected, got):
                assert list(have) == list(want)
                assert all(_same(have[k], want[k]) for k in want), (have, want)


def test_sorted_by_gives_what_sort_values_gives():
    """SYNTHETIC frames (fixed seed): text of both kinds with missing values, numbers, ties kept in order."""
    from kpi.columns import sorted_by

    rng = random.Random(8)
    for _ in range(60):
        n = rng.randint(0, 40)
        frame = pd.DataFrame(
            {
                "a": pd.Series([rng.choice(["x", "Ấ", "b", None]) for _ in range(n)], dtype=rng.choice([object, str])),
                "year": [rng.choice([2012, 2022, 2020]) for _ in range(n)],
                "v": [rng.random() for _ in range(n)],
                "s": pd.Series([rng.choice(["s1", "s2", None]) for _ in range(n)], dtype="str"),
            },
            index=[rng.randint(0, 5) for _ in range(n)],
        )
        keys = rng.sample(["a", "year", "s"], rng.randint(1, 3))
        want = frame.sort_values(keys, ignore_index=True, kind="stable")  # the kind of a sort on several keys
        pd.testing.assert_frame_equal(sorted_by(frame, keys), want)


def test_stable_order_is_lexsort_packed_or_not():
    """SYNTHETIC codes (fixed seed): the order np.lexsort gives, ties in their order, whether the
    codes fit in one integer or not (spans whose product passes 2**63 are sorted by lexsort)."""
    import numpy as np

    from kpi.columns import stable_order

    rng = np.random.default_rng(14)
    for spans in ([3], [56, 9800, 2, 1400], [2, 1, 5], [2**40, 2**30], [4, 4, 4, 4, 4]):
        for n in (0, 1, 7, 500):
            keys = [rng.integers(0, span, n) for span in spans]
            assert stable_order(keys).tolist() == np.lexsort(keys[::-1]).tolist()
    # unsigned codes above 2**53 (added to int64 they would have become floats) and negative ones
    for keys in (
        [np.array([0, 0], np.uint64), np.array([2**60 + 1, 2**60], np.uint64)],
        [np.array([0, 1]), np.array([5, -5])],
    ):
        assert stable_order(keys).tolist() == np.lexsort(keys[::-1]).tolist()
