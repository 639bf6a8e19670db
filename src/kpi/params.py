"""Notebook and build parameters, checked before any work: type, range, known area, years in the data.

A bad parameter raises ``ParameterError`` with one line saying which and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kpi import config
from kpi.config import LANGS, DataPaths
from kpi.errors import ParameterError

if TYPE_CHECKING:  # pandas and the gazetteer load only where an area is checked, not on a no-op build's path
    import pandas as pd

MIN_YEAR, MAX_YEAR = config.FIRST_EDITION_YEAR, config.MAX_YEAR  # later years are future editions


@dataclass(frozen=True)
class Parameters:
    baseline_year: int
    target_year: int
    area_code: str
    lang: str
    data_dir: Path


def _year(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"{name}={value!r}: expected a whole year such as 2012, got {type(value).__name__}")
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise ParameterError(f"{name}={value}: expected a year between {MIN_YEAR} and {MAX_YEAR}")
    return value


def _area_text(area_code: object) -> str:
    """The area code as text.  A number is accepted when it names one code: papermill's
    ``-p area_code 03413`` passes the number 3413, which can only be 03413 (codes of communes
    have five digits); otherwise the error says how to pass it as text (``-r``)."""
    if isinstance(area_code, str):
        return area_code
    if isinstance(area_code, bool) or not isinstance(area_code, int):
        raise ParameterError(f'area_code={area_code!r}: expected the code as text, e.g. "106" or "03413"')
    from kpi import reference

    gaz = reference.gazetteer()
    candidates = [c for c in dict.fromkeys((str(area_code), str(area_code).zfill(5))) if gaz.known_code(c)]
    if len(candidates) == 1:
        return candidates[0]
    text = str(area_code).zfill(5)
    if candidates:
        raise ParameterError(
            f"area_code={area_code!r}: a number that could be any of {', '.join(candidates)}; "
            f"pass the code as text: papermill -r area_code {text} (not -p)"
        )
    raise ParameterError(
        f"area_code={area_code!r}: not a known area code (given as a number: pass codes as text, "
        f"papermill -r area_code {text}, not -p)"
    )


def _name_hint(gaz: object, text: str, year: int) -> str:
    """``; did you mean '03413' (Xã Sơn Bình)?`` when a name was typed where its code belongs."""
    try:
        match = gaz.match(text, year)
    except KeyError:
        return ""
    return f"; did you mean {match.code!r} ({match.name})? (an area is given by its code)"


def check_area(area_code: str, baseline: int, target: int) -> None:
    """An area code is read in the era of the target year (codes were reused on 1 July 2025).

    >>> check_area("03413", 2012, 2026)
    Traceback (most recent call last):
    ...
    kpi.errors.ParameterError: area_code='03413' (Xã Sơn Bình) does not exist in 2026: it became part of ...
    """
    from kpi import reference, reorg

    gaz = reference.gazetteer()
    if gaz.known_code(area_code, target):
        return
    if not gaz.known_code(area_code, None):
        padded = area_code.zfill(5)
        hint = (
            f"; did you mean {padded!r} ({gaz.name(padded, target)})?"
            if area_code.isdigit() and gaz.known_code(padded, target)
            else _name_hint(gaz, area_code, target)
        )
        raise ParameterError(f"area_code={area_code!r}: not a known area code{hint} (see data/reference/areas.csv)")
    if reference.era_of_year(target) == "pre2025":
        raise ParameterError(
            f"area_code={area_code!r} ({gaz.name(area_code, reference.ERA_BOUNDARY_YEAR)}) exists "
            f"from 1 July 2025: choose a target_year from {reference.ERA_BOUNDARY_YEAR}"
        )
    successor = reorg.new_unit_of(area_code)
    where = (
        f"it became part of {successor[1]} ({successor[0]})"
        if successor
        else "the district was abolished and its communes reorganised (see data/reference/reorganisation_2025.csv)"
    )
    raise ParameterError(
        f"area_code={area_code!r} ({gaz.name(area_code, baseline)}) does not exist in {target}: {where} on 1 July 2025"
    )


def check_years(present: set[int], baseline: int, target: int) -> None:
    """Both years must have data: a report of an absent year is refused before any run (one place for this)."""
    years = sorted(present)
    for name, year in (("baseline_year", baseline), ("target_year", target)):
        if year not in years:
            raise ParameterError(
                f"{name}={year}: no observation for {year} in the data (years present: {', '.join(map(str, years))})"
            )


def check(
    baseline_year: object,
    target_year: object,
    area_code: object,
    lang: object,
    data_dir: object = None,
    observations: pd.DataFrame | None = None,
    area_known: bool = False,
) -> Parameters:
    """Check the five notebook parameters; ``observations`` (if given) must hold both years.

    ``area_known`` skips the gazetteer look-up, for a caller that checked the same area
    against the same reference data before (a rebuild with nothing changed).

    >>> check(2012, "2022", "106", "vi")
    Traceback (most recent call last):
    ...
    kpi.errors.ParameterError: target_year='2022': expected a whole year such as 2012, got str
    """
    baseline = _year("baseline_year", baseline_year)
    target = _year("target_year", target_year)
    if baseline >= target:
        raise ParameterError(f"baseline_year={baseline} must be before target_year={target}")
    if not isinstance(lang, str) or lang not in LANGS:
        raise ParameterError(f"lang={lang!r}: expected one of {', '.join(LANGS)}")
    area_code = _area_text(area_code)
    if not area_known:
        check_area(area_code, baseline, target)
    if data_dir is not None and not isinstance(data_dir, (str, Path)):
        raise ParameterError(f"data_dir={data_dir!r}: expected a folder path or None")
    paths = DataPaths.of(data_dir)
    if not paths.root.is_dir():
        raise ParameterError(f"data_dir={str(paths.root)!r}: folder not found")
    if observations is not None:
        check_years(set(observations["year"].astype(int)), baseline, target)
    return Parameters(baseline, target, area_code, lang, paths.root)
