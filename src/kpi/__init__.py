"""Tam Đường KPI data package: clean district indicators and compare two periods.

The API for exploring in Jupyter (``kpi.<Tab>`` lists it; ``help(kpi.compare)`` gives the
columns of what each returns)::

    import kpi
    obs = kpi.load_observations()              # every observation, every source
    best = kpi.pick(obs)                       # one value per indicator/area/year, by source priority
    kpi.compare(best, 2012, 2022, area=106)    # baseline, target, change, % change, CAGR, statuses
    kpi.conflicts(obs)                         # values of other sources that disagree
    kpi.indicators(), kpi.areas(2022)          # the catalogue; the areas in force in a year
    kpi.select(obs, "tea.area", area=106)      # rows of an indicator and an area, checked
    kpi.labelled(best, "en")                   # names, units and statuses in English (or "vi")
    kpi.trend(obs, "tea.area", area=106)       # a chart; kpi.by_commune(obs, "fish.tanks", 2022)

The names load on first use, so ``import kpi`` (and the ``kpi`` command) stays quick.
"""

__version__ = "0.1.0"

_API = {
    "load_observations": "kpi.api",
    "load_table": "kpi.api",
    "load_priorities": "kpi.api",
    "load_catalogue": "kpi.api",
    "indicators": "kpi.api",
    "areas": "kpi.api",
    "select": "kpi.api",
    "labelled": "kpi.api",
    "area_code": "kpi.api",
    "pick": "kpi.sources",
    "conflicts": "kpi.sources",
    "compare": "kpi.changes",
    "trend": "kpi.charts",
    "by_commune": "kpi.charts",
}
__all__ = ["__version__", *_API]  # noqa: PLE0604 -- the names of _API, listed once


_MODULES = ("api", "changes", "charts", "config", "labels", "reference", "reorg", "report", "sources", "views")
# the modules an analyst reaches for by name (``kpi.charts``, ``kpi.reorg.series_in_new_units``)


def __getattr__(name: str):
    import importlib

    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value  # looked up once
        return value
    if name in _MODULES:
        return importlib.import_module(f"kpi.{name}")  # the import binds it as an attribute of kpi
    raise AttributeError(f"module 'kpi' has no attribute {name!r}")


def __dir__() -> list[str]:
    """What tab completion offers: the API and the modules (loaded on first use) and the package's own names."""
    return sorted(set(globals()) | set(_API) | set(_MODULES))
