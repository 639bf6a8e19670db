"""Every path of the project, anchored at the project root and overridable by environment.

``KPI_ROOT`` moves the whole project, ``KPI_DATA_DIR`` the data folder (raw, processed),
``KPI_REFERENCE_DIR`` the reference tables and ``KPI_REPORTS_DIR`` the rendered reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_BASELINE_YEAR = 2012  # Resolution 20-NQ/TW was adopted on 1/11/2012: the report's base year
DEFAULT_TARGET_YEAR = 2022  # the report's year ("đến nay", April 2022)
DEFAULT_AREA = "106"  # Tam Đường district
LANGS = ("vi", "en")  # report languages, Vietnamese first
DEFAULT_LANG = LANGS[0]  # the package speaks Vietnamese unless asked otherwise
MIN_YEAR, MAX_YEAR = 1900, 2100  # plausible years a figure refers to; anything else is a typing error
FIRST_EDITION_YEAR = 2000  # reports and forms: the package's series start in the 2000s

PROJ_ROOT = Path(os.environ.get("KPI_ROOT", Path(__file__).resolve().parents[2]))


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


DATA_DIR = _env_path("KPI_DATA_DIR", PROJ_ROOT / "data")
REFERENCE_DIR = _env_path("KPI_REFERENCE_DIR", PROJ_ROOT / "data" / "reference")
NOTEBOOKS_DIR = _env_path("KPI_NOTEBOOKS_DIR", PROJ_ROOT / "notebooks")
REPORTS_DIR = _env_path("KPI_REPORTS_DIR", PROJ_ROOT / "reports")


@dataclass(frozen=True)
class DataPaths:
    """The folders of one data package: ``raw/`` (read only) and ``processed/`` (written by ingest)."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "processed"

    @classmethod
    def of(cls, data_dir: str | Path | None = None) -> DataPaths:
        return cls(Path(data_dir) if data_dir is not None else DATA_DIR)
