"""Rules over a column worked out once per distinct value.

A nation's observations hold a million rows but some sixty indicators and ten thousand area
codes; a string method or a lookup applied row by row (``str.endswith``, ``map``) costs 0.3 to
0.5 s on each such column, the same rule on its distinct values and spread back by their codes
a tenth of that.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd


def per_distinct(column: pd.Series, rule: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``rule(column)``, worked out on the distinct values of ``column`` only (the same values, the
    same type, ``column``'s index).  ``rule`` must treat each value by itself (no sums, no order).

    >>> per_distinct(pd.Series(["a.x", "b", "a.x"], index=[5, 6, 7]), lambda s: s.str.endswith(".x")).to_dict()
    {5: True, 6: False, 7: True}
    """
    codes, distinct = pd.factorize(column)
    if (codes < 0).any():  # missing values: the rule meets them as they are
        return rule(column)
    return rule(pd.Series(distinct, dtype=column.dtype, name=column.name)).take(codes).set_axis(column.index)
