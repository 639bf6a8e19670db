"""Tam Đường KPI data package: clean district indicators and compare two periods.

The public API for exploring in Jupyter (imported lazily, so ``kpi --help`` stays quick)::

    import kpi
    obs = kpi.load_observations()           # every observation, every source
    best = kpi.pick(obs)                    # one value per indicator/area/year
    kpi.compare(best, 2012, 2022)           # two-period changes
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API = {
    "load_observations": "kpi.api",
    "load_catalogue": "kpi.api",
    "pick": "kpi.sources",
    "conflicts": "kpi.sources",
    "compare": "kpi.changes",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'kpi' has no attribute {name!r}")
