"""Rules over a column worked out once per distinct value.

A nation's observations hold a million rows but some sixty indicators and ten thousand area
codes; a string method or a lookup applied row by row (``str.endswith``, ``map``) costs 0.3 to
0.5 s on each such column, the same rule on its distinct values and spread back by their codes
a tenth of that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pandas.api.extensions import ExtensionDtype
from pandas.core.dtypes.cast import maybe_box_native


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


def arrow_text(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """``frame`` with each of the columns ``names`` that holds only text (and missing values) as
    pandas' Arrow text (``str``); other columns as they are.

    Sorting, grouping, joining, hashing and writing Arrow text hash and compare its UTF-8 bytes
    in C++, three to four times quicker than Python strings (a nation's observations: hashing
    its rows 2.4 -> 0.85 s), and the same values in the same order come out: only the column's
    type differs.

    >>> arrow_text(pd.DataFrame({"a": ["x", None], "b": ["y", 1]}, dtype=object), ["a", "b"]).dtypes.tolist()
    [<StringDtype(na_value=nan)>, dtype('O')]
    """
    text = [name for name in names if pd.api.types.infer_dtype(frame[name], skipna=True) in ("string", "empty")]
    return frame.astype(dict.fromkeys(text, "str")) if text else frame


def sort_codes(column: pd.Series) -> np.ndarray:
    """Integers in the order of the column's values, equal where they are; missing values last
    (as ``sort_values`` puts them).

    >>> sort_codes(pd.Series(["b", None, "a", "b"])).tolist()
    [1, 2, 0, 1]
    """
    codes, distinct = pd.factorize(column, sort=True)
    return np.where(codes < 0, len(distinct), codes)


def stable_order(keys: Sequence[np.ndarray]) -> np.ndarray:
    """The positions that sort rows on ``keys`` (non-negative integer codes, as ``sort_codes`` gives;
    the first key first), ties in their order: ``np.lexsort(keys[::-1])``.  Where the keys' codes
    fit in one 64-bit integer (a nation's observations: 56 × 9,800 × 2 × 1,400), they are packed
    into it and sorted once (0.12 to 0.15 s for 1.2 million rows, against 0.22 to 0.36 s).

    >>> stable_order([np.array([1, 0, 1, 0]), np.array([0, 1, 0, 0])]).tolist()
    [3, 1, 0, 2]
    """
    spans = [int(key.max()) + 1 if len(key) else 1 for key in keys]
    codes = all(key.dtype.kind in "iu" and (not len(key) or key.min() >= 0) for key in keys)
    if not keys or not codes or math.prod(spans) >= 2**63:
        return np.lexsort(list(reversed(keys)))
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    for key, span in zip(keys, spans):
        packed = packed * span + key.astype(np.int64, copy=False)  # below 2**63: no unsigned code is cut
    return np.argsort(packed, kind="stable")


def sorted_by(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """``frame.sort_values(keys, ignore_index=True, kind="stable")`` (the sort pandas makes on several
    keys whatever its kind): the same rows in the same order (ties kept in
    their order), each column taken in the new order by one of two threads (Arrow's take lets go
    of the interpreter), the order found on integer codes of the keys (``sort_codes``)."""
    from concurrent.futures import ThreadPoolExecutor

    order = stable_order([sort_codes(frame[key]) for key in keys])
    with ThreadPoolExecutor(2) as pool:
        taken = list(pool.map(lambda name: frame[name].take(order).reset_index(drop=True), frame.columns))
    return pd.DataFrame(dict(zip(frame.columns, taken)), columns=frame.columns)


def looked_up(columns: Sequence[pd.Series], table: dict, default: object = None) -> np.ndarray:
    """``table.get((a, b, ...), default)`` for each row of the columns (as objects), looked up once
    per distinct combination of their values.

    >>> looked_up([pd.Series(["x", "y", "x"]), pd.Series([1, 1, 1])], {("x", 1): "found"}).tolist()
    ['found', None, 'found']
    """
    size = len(columns[0])
    combined = np.zeros(size, dtype=np.int64)
    for column in columns:
        codes, distinct = pd.factorize(column, use_na_sentinel=False)
        combined = pd.factorize(combined * len(distinct) + codes)[0]
    _, first = np.unique(combined, return_index=True)  # codes in order of first appearance: 0, 1, ...
    values = [pd.Series(column).iloc[first].tolist() for column in columns]  # only where each first comes
    found = [table.get(key, default) for key in zip(*values)]
    out = np.empty(len(found), dtype=object)
    out[:] = found
    return out[combined] if size else out[:0]


def shared_codes(left: Sequence[ArrayLike], right: Sequence[ArrayLike]) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row of each table, the same exactly where the rows' key columns hold the
    same values (``left[i]`` against ``right[i]``); -1 for a row with a missing key value, which
    ``groupby`` leaves out.  A join or a group of a few rows out of many is then found on these
    integers: each text column is hashed once, not once per join or grouping.

    >>> left, right = shared_codes([["x", "y", None], [1, 2, 1]], [["y", "x"], [2, 2]])
    >>> bool(left[1] == right[0]), bool(left[0] == right[1]), int(left[2])
    (True, False, -1)
    """
    size = len(left[0])
    keys = np.zeros(size + len(right[0]), dtype=np.int64)
    span = 1
    for left_column, right_column in zip(left, right, strict=True):
        a, b = np.asarray(left_column), np.asarray(right_column)
        same = a.dtype == b.dtype and a.dtype != object  # numbers stay numbers: quicker to hash
        codes, distinct = pd.factorize(
            np.concatenate([a, b]) if same else np.concatenate([a.astype(object), b.astype(object)])
        )
        if span * len(distinct) >= 2**62:  # pack the keys so far before they could overflow
            present = keys >= 0
            packed, seen = pd.factorize(keys[present])
            keys[present], span = packed, len(seen)
        keys = np.where((keys < 0) | (codes < 0), -1, keys * len(distinct) + codes)
        span *= len(distinct)
    return keys[:size], keys[size:]


def whole_groups(keys: np.ndarray, chosen: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
    """The rows whose key (``shared_codes``) is one of ``chosen``, and every row of one more group:
    the first of those that ``among`` (a mask of rows) marks, else the first group.  Then what is
    worked out over the rows kept meets a group whenever there was one, and pandas types its
    columns as it types them over all the rows (the column types of an empty table depend on how
    it was made, and they decide the types of what it is joined to).

    >>> whole_groups(np.array([4, 7, 4, 9, -1]), np.array([9])).tolist()
    [True, False, True, True, False]
    >>> whole_groups(np.array([4, 7, 4, 9, -1]), np.array([9]), np.array([0, 1, 0, 0, 0], bool)).tolist()
    [False, True, False, True, False]
    """
    grouped = keys >= 0
    keep = np.isin(keys, chosen) & grouped
    first = np.flatnonzero(grouped & among) if among is not None else []
    if not len(first):
        first = np.flatnonzero(grouped)
    if len(first):
        keep |= keys == keys[first[0]]
    return keep


def records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")``, the same dicts of the same values, a column at a time: pandas
    walks the rows and boxes the values of each text column row by row (a nation's findings,
    0.22 s; about a quarter of that here).

    >>> records(pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.5, float("nan")]}))
    [{'a': 1, 'b': 'x', 'c': 0.5}, {'a': 2, 'b': nan, 'c': nan}]
    """
    names = frame.columns.tolist()
    if not names:
        return [{} for _ in range(len(frame))]
    columns = []
    for k in range(len(names)):
        column = frame.iloc[:, k]
        kind = column.dtype
        boxed = kind == np.dtype(object) or isinstance(kind, ExtensionDtype)  # as pandas boxes them
        columns.append(_boxed(column.tolist()) if boxed else list(column))
    return [dict(zip(names, row)) for row in zip(*columns)]


NATIVE = frozenset({str, int, float, bool, type(None)})  # what ``maybe_box_native`` gives back as it is


def _boxed(values: list) -> list:
    """``maybe_box_native`` of each value; a column of Python's own values (text, numbers, missing)
    is left as it is, seen by the types of its values at once (a nation's findings: 0.3 million
    values not looked at one by one)."""
    return values if set(map(type, values)) <= NATIVE else list(map(maybe_box_native, values))
