import datetime as dt
import math
import random

import pandas as pd

from kpi.cells import Cells, Extracted, as_read, cells_frame
from kpi.schema import CELLS

DAY = dt.datetime(2022, 5, 15)
POOL = [None, float("nan"), 0, 7, 2012, 2.5, 3.0, "", "x", "1.947", True, False, DAY, DAY.date()]


def same(a: list, b: list) -> bool:
    """Equal values of equal types, NaN equal to NaN (what cleaning would see alike)."""
    return len(a) == len(b) and all(
        (type(x) is type(y) and (x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))))
        or (x is pd.NaT and y is pd.NaT)
        for x, y in zip(a, b)
    )


def test_as_read_gives_what_a_frame_column_gives_back():
    """Synthetic mixes (fixed seed): every kind of cell value, alone and with the others."""
    rng = random.Random(14)
    tried = 0
    for _ in range(3000):
        values = [rng.choice(POOL) for _ in range(rng.randint(0, 6))]
        expected = pd.DataFrame([{"x": v} for v in values], columns=["x"])["x"].tolist()
        assert same(as_read(values), expected), values
        tried += 1
    assert tried == 3000


def test_cells_are_gathered_by_column_and_read_back_as_dicts():
    out = Extracted("s")
    cell = dict.fromkeys(CELLS.columns, "") | {"source_ref": "f!S!C8", "year_raw": 2022, "base_year": None}
    out.cells.append(cell)
    out.cells.append(cell | {"source_ref": "f!S!C9", "base_year": 2012})
    assert len(out.cells) == 2
    assert [c["source_ref"] for c in out.cells] == ["f!S!C8", "f!S!C9"]
    assert same(out.cells.column("base_year"), cells_frame([out])["base_year"].tolist())
    assert isinstance(out.cells, Cells)
