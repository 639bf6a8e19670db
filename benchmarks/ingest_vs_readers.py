"""Time `kpi ingest` on the shipped data against plain readers of the same workbook, in one run.

Prints the median of several repeats for: the whole ingest (every raw file, cleaned,
validated and written), pandas.read_excel with openpyxl (all sheets, no cleaning),
pandas.read_excel with calamine, and the ratio of each to the ingest.
"""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from kpi import config, ingest

REPEATS = 7


def median_seconds(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    raw = config.DATA_DIR / "raw"
    workbooks = sorted(raw.glob("*.xlsx"))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(raw, data / "raw")
        ingest.run(data)  # warm imports and caches
        t_ingest = median_seconds(lambda: ingest.run(data))
    t_openpyxl = median_seconds(lambda: [pd.read_excel(w, sheet_name=None, header=None, engine="openpyxl") for w in workbooks])
    t_calamine = median_seconds(lambda: [pd.read_excel(w, sheet_name=None, header=None, engine="calamine") for w in workbooks])
    print(f"shipped data: {len(list(raw.glob('*.meta.yml')))} raw files, {len(workbooks)} workbook(s); median of {REPEATS}")
    print(f"kpi ingest (all files, clean, validate, write): {t_ingest * 1000:8.1f} ms")
    print(f"pandas.read_excel + openpyxl (workbooks only):  {t_openpyxl * 1000:8.1f} ms  = {t_openpyxl / t_ingest:5.2f} x ingest")
    print(f"pandas.read_excel + calamine (workbooks only):  {t_calamine * 1000:8.1f} ms  = {t_calamine / t_ingest:5.2f} x ingest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
