"""What ``make bench`` measures the ingest against: plain readers of the same workbooks, and the floor."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

TOKENS = re.compile(rb"<[^>]*>|[^<]+")


def floor(files: list[Path]) -> int:
    """Unzip every workbook and tokenise each sheet's XML: the least any reader must do."""
    tokens = 0
    for path in files:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    tokens += sum(1 for _ in TOKENS.finditer(z.read(name)))
    return tokens


def pandas_openpyxl(files: list[Path]) -> None:
    import pandas as pd

    for path in files:
        pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")


def openpyxl_only(files: list[Path]) -> None:
    from openpyxl import load_workbook

    for path in files:
        wb = load_workbook(path, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for _row in ws.iter_rows(values_only=True):
                pass
        wb.close()


def pandas_calamine(files: list[Path]) -> None:
    import pandas as pd

    for path in files:
        pd.read_excel(path, sheet_name=None, header=None, engine="calamine")


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def sample(files: list[Path], share: float) -> list[Path]:
    """Every k-th file (a fixed, spread sample) when the slow readers would take too long on all."""
    if share >= 1:
        return files
    step = round(1 / share)
    return files[::step]
