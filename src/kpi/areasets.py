"""Which areas a build makes reports for: one code, a list of codes, or ``all`` (every area with
data in the target year, the district first)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kpi import config
from kpi.errors import ParameterError
from kpi.runs import Run


def split_areas(areas: str | list[str]) -> list[str]:
    """``"03413, 03424"`` or a list: the codes in order, once each.

    >>> split_areas("03413, 03424,03413")
    ['03413', '03424']
    """
    codes = [c.strip() for c in areas.split(",")] if isinstance(areas, str) else [str(c).strip() for c in areas]
    return list(dict.fromkeys(c for c in codes if c))


def all_areas(data_dir: Path, target: int) -> list[str]:
    """``--areas all``: every area with data in the target year (not groups of communes), district first."""
    import pandas as pd

    from kpi import reference

    obs = pd.read_parquet(
        config.DataPaths.of(data_dir).processed / "observations.parquet", columns=["area_code", "year"]
    )
    gaz = reference.gazetteer()
    groups = set(gaz.areas.loc[gaz.areas["level"] == "group", "code"])
    codes = sorted(
        c for c in set(obs.loc[obs["year"] == target, "area_code"]) if c not in groups and gaz.known_code(c, target)
    )
    district = config.DEFAULT_AREA
    if gaz.known_code(district, target):
        codes = [district] + [c for c in codes if c != district]
    if not codes:
        raise ParameterError(f"--areas all: no area has data for {target}")
    return codes


def area_codes(area: str, areas: str | list[str] | None) -> list[str]:
    """The areas a build makes reports for: ``area``, or those of ``--areas`` (codes, or ``all``)."""
    codes = split_areas(areas) if areas is not None else [area]
    if not codes:
        raise ParameterError(f"--areas {areas!r}: expected area codes separated by commas, or all")
    return codes


def every_area(runs: list[Run], checks: Callable[..., Run], data_dir: Path, target: int, echo: Callable) -> list[Run]:
    """``--areas all``: the runs named, then one per area with data in the target year."""
    runs = [checks(c) for c in dict.fromkeys([r.area for r in runs] + all_areas(data_dir, target))]
    echo(f"areas: {len(runs)} ({', '.join(r.area for r in runs[:8])}{', …' if len(runs) > 8 else ''})")
    return runs
