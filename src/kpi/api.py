"""Loading the processed package for exploring: one-liners with examples that run as doctests.

>>> obs = load_observations()                          # doctest: +SKIP
>>> obs.query("indicator == 'tea.area'")               # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpi import reference
from kpi.config import DataPaths
from kpi.errors import KpiError


def _processed(data_dir: str | Path | None, name: str) -> Path:
    path = DataPaths.of(data_dir).processed / name
    if not path.exists():
        raise KpiError(f"{path} not found: run `kpi ingest` first")
    return path


def load_observations(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Every observation of every source, as written by ``kpi ingest``."""
    return pd.read_parquet(_processed(data_dir, "observations.parquet"))


def load_table(name: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """A processed table by name: ``findings``, ``conflicts``, ``rejects``, ``sources`` or ``lists/<name>``."""
    return pd.read_csv(_processed(data_dir, f"{name}.csv"), dtype={"area_code": str, "area_codes": str},
                       keep_default_na=False, na_values=[""])


def load_priorities(data_dir: str | Path | None = None) -> dict[str, int]:
    """Source priorities as declared in the provenance records (1 = the report)."""
    table = load_table("sources", data_dir)
    return dict(zip(table["source_id"], table["priority"].astype(int)))


def load_catalogue() -> pd.DataFrame:
    """The indicator catalogue: id, theme, names (vi, en), unit, aggregation, definition."""
    return reference.catalogue().copy()
