"""``kpi.write.json_text`` writes the very text of ``json.dumps(..., ensure_ascii=False, indent=2, default=str)``."""

from __future__ import annotations

import decimal
import enum
import json
import random

import numpy as np
import pytest

from kpi.write import RECORDS_AT_ONCE, json_text


def standard(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


# SYNTHETIC values (fixed seed below): every kind of scalar json writes, and a few it writes with str()
SCALARS = [
    "",
    "Huyện Tam Đường",
    "Tam Đường",  # not NFC: written as given
    'quote " and \\ backslash',
    "tab\tnew\nline\x00\x1f\u2028",
    "😀",
    0,
    -7,
    10**30,
    True,
    False,
    None,
    0.1,
    -0.0,
    1e16,
    1.5e-300,
    float("nan"),
    float("inf"),
    float("-inf"),
    np.float64(2.5),
    np.float64("nan"),
    np.int64(5),
    np.bool_(True),
    Colour.RED,
    Name("sub"),
    decimal.Decimal("1.10"),
]


def random_value(rng: random.Random, depth: int) -> object:
    if depth > 3 or rng.random() < 0.5:
        return rng.choice(SCALARS)
    kind = rng.choice(["list", "tuple", "dict", "records"])
    if kind == "records":  # a table's rows: same keys, sometimes a differing row or a nested value
        keys = rng.sample(["a", "b", "c", "năm", "ý"], rng.randint(1, 4))
        rows = [{k: rng.choice(SCALARS[:19]) for k in keys} for _ in range(rng.randint(0, 3 * RECORDS_AT_ONCE))]
        if rows and rng.random() < 0.3:
            rows[rng.randrange(len(rows))][keys[0]] = random_value(rng, depth + 1)
        if rows and rng.random() < 0.2:
            rows[rng.randrange(len(rows))] = dict(reversed(rows[0].items()))
        return rows
    items = [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "list":
        return items
    if kind == "tuple":
        return tuple(items)
    keys = rng.sample(["x", "", "Đ", 3, 2.5, True, False, None, float("nan")], k=len(items))
    return dict(zip(keys, items))


@pytest.mark.parametrize("seed", range(40))
def test_the_same_text_as_json_dumps(seed):
    rng = random.Random(seed)
    value = random_value(rng, 0)
    assert json_text(value) == standard(value)


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_every_scalar_alone_and_in_a_column(value):
    rows = [{"v": value, "w": i} for i in range(RECORDS_AT_ONCE * 2)]
    assert json_text(value) == standard(value)
    assert json_text(rows) == standard(rows)
    assert json_text({"nested": [rows, {"v": value}]}) == standard({"nested": [rows, {"v": value}]})


def test_a_column_of_mixed_kinds():
    rows = [{"v": value} for value in SCALARS] * 2
    assert json_text(rows) == standard(rows)


def test_a_key_json_refuses_is_refused():
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        json_text({(1, 2): "x"})
    with pytest.raises(TypeError):
        standard({(1, 2): "x"})


def test_the_reports_of_an_ingest_read_back_as_json_dumps_writes_them(ingested):
    """What the ingest of the shipped data wrote (validation report, data package, fingerprints, stamp)."""
    for name in ("validation.json", "datapackage.json", "fingerprints.json", "ingest-stamp.json"):
        text = (ingested.out_dir / name).read_text(encoding="utf-8")
        assert text == standard(json.loads(text)) + "\n", name
