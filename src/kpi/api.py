"""Loading the processed package for exploring: one-liners with examples that run as doctests.

(``data_dir`` below is a freshly ingested copy of the shipped data; leave it out to use the
project's own ``data/``.)

>>> obs = load_observations(data_dir)
>>> obs.query("indicator == 'tea.area' and area_code == '106'")[["year", "value", "status", "source_id"]].values.tolist()
[[2018, 1424.0, 'reported', 'public_facts'], [2019, 1493.9, 'reported', 'public_facts'], [2021, 2000.0, 'estimate', 'public_facts'], [2022, 1947.0, 'reported', 'bc24_annex']]
>>> from kpi import pick, compare
>>> row = compare(pick(obs, load_priorities(data_dir)), 2012, 2022, area="106").set_index("indicator").loc["tea.output_fresh"]
>>> float(row["baseline_value"]), float(row["target_value"]), row["baseline_status"]
(3407.0, 10200.0, 'derived')
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
