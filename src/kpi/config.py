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
# notebooks run at a time, each in a warm kernel of its own: two where there are two processors
# (on two cores the shipped reports build in 0.84x the time of one kernel); more kernels were not measured
# (the processors this process may run on, where the system says: a container may allow fewer than it has)
DEFAULT_JOBS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
MIN_YEAR, MAX_YEAR = 1900, 2100  # plausible years a figure refers to; anything else is a typing error
FIRST_EDITION_YEAR = 2000  # reports and forms: the package's series start in the 2000s

PROJ_ROOT = Path(os.environ.get("KPI_ROOT", Path(__file__).resolve().parents[2]))


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


def data_dir() -> Path:
    """The data folder (raw/, processed/), as ``KPI_DATA_DIR`` says now."""
    return _env_path("KPI_DATA_DIR", PROJ_ROOT / "data")


def reference_dir() -> Path:
    """The reference tables, as ``KPI_REFERENCE_DIR`` says now (read at each call, not once at import)."""
    return _env_path("KPI_REFERENCE_DIR", PROJ_ROOT / "data" / "reference")


def notebooks_dir() -> Path:
    return _env_path("KPI_NOTEBOOKS_DIR", PROJ_ROOT / "notebooks")


def reports_dir() -> Path:
    return _env_path("KPI_REPORTS_DIR", PROJ_ROOT / "reports")


_FOLDERS = {
    "DATA_DIR": data_dir,
    "REFERENCE_DIR": reference_dir,
    "NOTEBOOKS_DIR": notebooks_dir,
    "REPORTS_DIR": reports_dir,
}


def __getattr__(name: str) -> Path:
    """``config.DATA_DIR`` and the other folders, read from the environment when asked for."""
    if name in _FOLDERS:
        return _FOLDERS[name]()
    raise AttributeError(f"module 'kpi.config' has no attribute {name!r}")


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
    def of(cls, folder: str | Path | None = None) -> DataPaths:
        return cls(Path(folder) if folder is not None else data_dir())
