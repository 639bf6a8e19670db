"""The Parquet twin written from Arrow text is the file pandas writes for Python strings."""

from __future__ import annotations

import pandas as pd
import pytest

from kpi.columns import arrow_text
from kpi.write import write_parquet

TEXT = ["Bản Hòn", "a,b", None, 'say "hi"', "", "Thị trấn Tam Đường"]


def frames() -> list:
    objects = pd.DataFrame(
        {
            "indicator": pd.Series(TEXT * 3, dtype=object),
            "year": range(18),
            "value": [0.5 * i for i in range(18)],
            "note": pd.Series([None] * 18, dtype=object),  # no value at all: pyarrow's null type
            "kind": pd.Series(["x"] * 18, dtype="str"),  # already Arrow text: stays so
        }
    )
    return [
        pytest.param(objects, id="text-missing-and-empty-columns"),
        pytest.param(objects.iloc[:1], id="one-row"),
        pytest.param(objects.iloc[:0], id="no-rows"),
    ]


@pytest.mark.parametrize("objects", frames())
def test_the_same_bytes_as_to_parquet_of_python_strings(objects, tmp_path):
    kinds = dict(objects.dtypes)
    arrow = arrow_text(objects, ["indicator", "note", "kind"])
    if len(objects):
        assert arrow["indicator"].dtype == "str" and arrow["note"].dtype == "str"
    objects.to_parquet(tmp_path / "pandas.parquet", index=False)
    write_parquet(arrow, tmp_path / "kpi.parquet", kinds)
    assert (tmp_path / "kpi.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()


def test_arrow_text_read_from_parquet_in_chunks(tmp_path):
    """Columns of several chunks (as read back from a Parquet file) give the same file."""
    objects = pd.DataFrame({"t": pd.Series(TEXT * 4, dtype=object), "n": range(24)})
    chunked = pd.concat([arrow_text(objects.iloc[:10], ["t"]), arrow_text(objects.iloc[10:], ["t"])])
    objects.to_parquet(tmp_path / "pandas.parquet", index=False)
    write_parquet(chunked.reset_index(drop=True), tmp_path / "kpi.parquet", dict(objects.dtypes))
    assert (tmp_path / "kpi.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, renamed
