"""Row hashes, hashed a block of rows at a time, are pandas' hashes of the whole table (SYNTHETIC rows, fixed seed)."""

import numpy as np
import pandas as pd

from kpi import reads
from kpi.schema import OBSERVATIONS


def observations(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 40, n)
    return pd.DataFrame(
        {
            "indicator": [f"synthetic.i{c % 9}" for c in codes],
            "area_code": [f"{c:05d}" for c in codes],
            "area_name": [f"Xã Thử {c}" for c in codes],
            "year": rng.integers(2012, 2023, n),
            "value": np.where(rng.random(n) < 0.1, np.nan, rng.random(n) * 1000),
            "unit": "ha",
            "status": rng.choice(["reported", "derived", "estimate"], n),
            "source_id": "synthetic",
            "source_ref": [f"f.xlsx:S!C{i}" for i in range(n)],
            "note": np.where(rng.random(n) < 0.5, "", "ghi chú"),
        },
        columns=OBSERVATIONS.columns,
    ).astype({"indicator": "str", "area_code": "str", "source_ref": "str", "note": "str"})


def test_row_hashes_in_blocks_equal_the_whole_table(monkeypatch):
    obs = observations(2_503)
    whole = pd.util.hash_pandas_object(obs[OBSERVATIONS.columns], index=False).to_numpy()
    monkeypatch.setattr(reads, "HASH_ROWS", 250)
    blocks = reads.row_hashes(obs)
    assert blocks.dtype == whole.dtype and np.array_equal(blocks, whole)
    assert reads.data_version(obs, blocks) == reads.data_version(obs.sample(frac=1, random_state=1))


def test_row_hashes_of_no_rows():
    hashes = reads.row_hashes(observations(0))
    assert hashes.dtype == np.uint64 and len(hashes) == 0
