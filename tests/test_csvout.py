import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from kpi import csvout
from kpi.csvout import csv_bytes, csv_chunks, write_csv

TEXTS = ["", " ", "Bản Hòn", "a,b", 'a "q"', "a\nb", "a\rb", "a\r\nb", " lead", "trail ", "\t", "x;y", "\u2028",
         "'", "#", "null", "NA", "1e5", "=1+1", "Thị trấn, Tam Đường", '""']  # fmt: skip
FLOATS = [0.0, -0.0, 1.5, 100.0, 1e-05, 1e16, 123456789.123, float("nan"), float("inf"), -float("inf"), 5.14]
OBJECTS = TEXTS + FLOATS + [None, 7, True, np.float64(2.5), np.int64(3), pd.NA, dt.date(2022, 5, 15)]


def column(rng: random.Random, n: int) -> pd.Series:
    """A random column of one of the kinds a kpi table holds (synthetic, fixed seed)."""
    kind = rng.choice(["float", "float32", "int", "uint8", "bool", "text", "text-missing", "arrow-text", "mixed"])
    if kind in ("float", "float32"):
        return pd.Series([rng.choice(FLOATS) for _ in range(n)], dtype="float64" if kind == "float" else "float32")
    if kind == "uint8":
        return pd.Series([rng.randint(0, 255) for _ in range(n)], dtype="uint8")
    if kind == "int":
        return pd.Series([rng.randint(-(10**12), 10**12) for _ in range(n)], dtype="int64")
    if kind == "bool":
        return pd.Series([rng.random() < 0.5 for _ in range(n)], dtype="bool")
    if kind == "arrow-text":
        return pd.Series([rng.choice(TEXTS + [None]) for _ in range(n)], dtype="str")
    pool = TEXTS if kind == "text" else TEXTS + [None, float("nan")] if kind == "text-missing" else OBJECTS
    return pd.Series([rng.choice(pool) for _ in range(n)], dtype=object)


def test_csv_is_what_pandas_writes():
    rng = random.Random(14)
    handled = 0
    for _ in range(400):
        n = rng.randint(0, 12)
        names = rng.sample(["a", "b,c", 'd"e', "Đơn vị", "f g", "h"], rng.randint(2, 5))
        frame = pd.DataFrame({name: column(rng, n) for name in names})
        handled += csv_chunks(frame) is not None
        assert csv_bytes(frame) == frame.to_csv(index=False, lineterminator="\n").encode("utf-8"), frame
    assert handled == 400  # every frame here is handled by the Arrow path, none by the fallback


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"only": ["", "x"]}),  # one column: csv quotes an empty field alone on its line
        pd.DataFrame({"when": pd.to_datetime(["2022-05-15"]), "x": [1]}),
        pd.DataFrame({"kind": pd.Categorical(["a", "b"]), "x": [1, 2]}),
    ],
)
def test_other_tables_go_through_pandas(frame, tmp_path):
    assert csv_chunks(frame) is None
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def test_rows_are_written_a_chunk_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(csvout, "CHUNK_ROWS", 3)
    frame = pd.DataFrame({"n": range(10), "t": [f"r{i}, {i}" for i in range(10)]})
    assert len(list(csv_chunks(frame))) == 1 + 4  # the header, then 3 + 3 + 3 + 1 rows
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def test_write_csv_writes_the_bytes(tmp_path):
    frame = pd.DataFrame({"area": ["Bản Hòn", 'say "hi", twice'], "value": [74.03, float("nan")]})
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == 'area,value\nBản Hòn,74.03\n"say ""hi"", twice",\n'.encode()


def test_floats_made_text_once_each_keep_their_sign_and_width():
    frame = pd.DataFrame({"x": [0.0, -0.0, 0.1, 0.0, float("nan")], "y": np.array([0.1, 0.1, -0.0, 2, 3], "float32")})
    assert csv_bytes(frame) == b"x,y\n0.0,0.1\n-0.0,0.1\n0.1,-0.0\n0.0,2.0\n,3.0\n"
    assert csv_bytes(frame) == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def test_equal_objects_of_other_types_keep_their_own_text():
    """1, 1.0 and True are equal (one distinct value to pandas): each is still written as csv writes it."""
    frame = pd.DataFrame({"v": pd.Series([1, 1.0, True, "1", None, 0.0, -0.0], dtype=object), "t": "a,b"})
    assert csv_bytes(frame) == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert csv_bytes(frame).decode().splitlines()[1:4] == ['1,"a,b"', '1.0,"a,b"', 'True,"a,b"']


@pytest.mark.parametrize("chunks", [1, 3], ids=["one-array", "chunked"])
def test_arrow_text_is_written_from_its_bytes(chunks):
    """Arrow text is quoted from its UTF-8 bytes without Python strings, in one array or in chunks
    (as read from Parquet), sliced a chunk of rows at a time; no field needs quotes in one column."""
    rng = random.Random(7)
    values = [rng.choice(TEXTS + [None]) for _ in range(60)]
    parts = [pd.Series(values[i::chunks], dtype="str") for i in range(chunks)]
    frame = pd.DataFrame({"t": pd.concat(parts, ignore_index=True), "plain": "Bản Hòn", "n": range(60)})
    assert csv_bytes(frame) == frame.astype(object).to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert not csvout._may_need_quotes(csvout._column_text(frame["plain"]))
    assert csvout._may_need_quotes(csvout._column_text(frame["t"]))


def test_float64_text_is_numpys_text_for_any_bits():
    """SYNTHETIC floats (fixed seed): every bit pattern (subnormals, huge and tiny exponents, both
    zeros, NaNs with payloads) and rounded figures: the text made from Python's repr is numpy's."""
    from kpi.csvout import _distinct_text

    rng = np.random.default_rng(14)
    bits = rng.integers(0, 2**63, 200_000, dtype=np.uint64).view(np.float64)
    figures = np.round(rng.random(50_000) * 10.0 ** rng.integers(-6, 20, 50_000), 3)
    with np.errstate(over="ignore"):
        powers = 10.0 ** np.arange(-330, 310)
    values = np.concatenate([bits, -bits, figures, powers, [0.0, -0.0, 1e16, 1e-4, 9999999999999998.0]])
    assert _distinct_text(values).to_pylist() == values.astype(str).tolist()


def test_float_text_follows_numpys_legacy_printing():
    """Under numpy's printing of 1.13 (12 digits), pandas writes what numpy's ``astype(str)`` gives: so do we."""
    frame = pd.DataFrame({"x": [1 / 3, 2.5], "y": ["a", "b"]})
    with np.printoptions(legacy="1.13"):
        assert csv_bytes(frame) == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
