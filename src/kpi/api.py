"""The analyst's API: load, look up, select, label.  Each answers, or says why not.

An impossible question (a year with no data, an unknown area or indicator) raises
``KpiError`` naming the value and what exists -- never a frame of NaN or an empty figure.
Area codes may be given as numbers where unambiguous (``106``; ``3413`` is ``03413``).

(``data_dir`` below is a freshly ingested copy of the shipped data; leave it out to use the
project's own ``data/``.)

>>> obs = load_observations(data_dir)
>>> select(obs, indicator="tea.area", area=106)[["year", "value", "status", "source_id"]].values.tolist()
... # doctest: +NORMALIZE_WHITESPACE
[[2018, 1424.0, 'reported', 'public_facts'], [2019, 1493.9, 'reported', 'public_facts'],
 [2021, 2000.0, 'estimate', 'public_facts'], [2022, 1947.0, 'reported', 'bc24_annex']]
>>> from kpi import pick, compare
>>> best = pick(obs, load_priorities(data_dir))
>>> row = compare(best, 2012, 2022, area="106").set_index("indicator").loc["tea.output_fresh"]
>>> float(row["baseline_value"]), float(row["target_value"]), row["baseline_status"]
(3407.0, 10200.0, 'derived')
>>> select(obs, area="99999")
Traceback (most recent call last):
...
kpi.errors.KpiError: area '99999': not a known area code; known codes include 106 (Huyện Tam Đường), ...
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from kpi import config, reference
from kpi.config import DataPaths
from kpi.errors import KpiError

CATALOGUE_COLUMNS = [
    "id",
    "theme",
    "name_vi",
    "name_en",
    "unit",
    "aggregation",
    "nature",
    "definition_vi",
    "definition",
]


def _processed(data_dir: str | Path | None, name: str) -> Path:
    path = DataPaths.of(data_dir).processed / name
    if not path.exists():
        raise KpiError(f"{path} not found: run `kpi ingest` first")
    return path


def load_observations(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Every observation of every source, as written by ``kpi ingest``.

    Columns: indicator, area_code, area_name, year, value, unit, status (reported, preliminary,
    derived, estimate, lower_bound, upper_bound), source_id, source_ref (file, sheet and cell,
    or CSV line and report section), note.
    """
    return pd.read_parquet(_processed(data_dir, "observations.parquet"))


def load_table(name: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """A processed table by name: ``findings``, ``conflicts``, ``rejects``, ``sources`` or ``lists/<name>``."""
    return pd.read_csv(
        _processed(data_dir, f"{name}.csv"),
        dtype={"area_code": str, "area_codes": str},
        keep_default_na=False,
        na_values=[""],
    )


def load_priorities(data_dir: str | Path | None = None) -> dict[str, int]:
    """Source priorities as declared in the provenance records (1 = the report): {source_id: priority}."""
    table = load_table("sources", data_dir)
    return dict(zip(table["source_id"], table["priority"].astype(int)))


def load_catalogue() -> pd.DataFrame:
    """The indicator catalogue, as ``kpi.indicators()`` (kept for earlier notebooks)."""
    return indicators()


def indicators(theme: str | None = None) -> pd.DataFrame:
    """The indicator catalogue: id, theme, name_vi, name_en, unit, aggregation (sum or none),
    nature (stock or flow), definition_vi, definition (English); one row per indicator."""
    cat = reference.catalogue()[CATALOGUE_COLUMNS].reset_index(drop=True)
    if theme is not None:
        themes = sorted(set(cat["theme"]))
        if theme not in themes:
            raise KpiError(f"theme {theme!r}: not a theme; themes: {', '.join(themes)}")
        cat = cat[cat["theme"] == theme].reset_index(drop=True)
    return cat


def areas(year: int | None = None) -> pd.DataFrame:
    """The areas in force in ``year`` (codes were reused on 1 July 2025): code, name_vi, name_en, level, parent.

    Without a year: every area of every era, with its ``era`` (pre2025, post2025, former, all).
    """
    table = reference.gazetteer().areas
    if year is not None:
        eras = [reference.era_of_year(int(year)), "all"]
        table = table[table["era"].isin(eras)]
    return table[["code", "name_vi", "name_en", "level", "parent", "era"]].reset_index(drop=True)


def area_code(area: object, year: int | None = None) -> str:
    """An area as the code the data uses: ``106`` → ``"106"``, ``3413`` → ``"03413"`` (when that is known).

    Raises KpiError naming the closest known areas when the code is not in the gazetteer.
    """
    gaz = reference.gazetteer()
    if isinstance(area, bool) or not isinstance(area, (str, int)):
        raise KpiError(f"area {area!r}: expected an area code such as '106' or '03413'")
    code = str(area).strip()
    for candidate in dict.fromkeys([code, code.zfill(5)] if code.isdigit() else [code]):
        if gaz.known_code(candidate, year):
            return candidate
    if (code.isdigit() and gaz.known_code(code.zfill(5), None)) or gaz.known_code(code, None):
        known = code if gaz.known_code(code, None) else code.zfill(5)
        raise KpiError(
            f"area {area!r} ({gaz.name(known)}) is not an area in force in {year}; "
            f"areas of {year}: see kpi.areas({year})"
        )
    return _unknown_area(area, gaz)


def _unknown_area(area: object, gaz: reference.Gazetteer) -> str:
    table = gaz.areas
    names: dict[str, str] = {}
    for code, name in zip(table["code"], table["name_vi"]):
        names.setdefault(code, name)  # a reused code by its first name
    close = difflib.get_close_matches(str(area), list(names), n=3, cutoff=0.7)
    close += [
        c
        for c in table.loc[
            table["name_vi"].isin(difflib.get_close_matches(str(area), list(table["name_vi"]), n=3, cutoff=0.6)), "code"
        ]
        if c not in close
    ]
    hint = [f"{c} ({names[c]})" for c in close] or [f"{c} ({n})" for c, n in list(names.items())[1:4]]
    word = "closest" if close else "known codes include"
    raise KpiError(f"area {area!r}: not a known area code; {word} {', '.join(hint)}, …")


def _known_indicator(indicator: str, present: list[str]) -> None:
    if indicator not in present:
        close = difflib.get_close_matches(indicator, present, n=3, cutoff=0.5) or present[:3]
        raise KpiError(f"indicator {indicator!r}: no such indicator in the data; closest: {', '.join(close)}")


def year_of(value: object) -> int:
    """A year as asked for: ``2022``, ``"2022"`` or ``2022.0`` (papermill and spreadsheets give these).

    >>> year_of("2022"), year_of(2022.0)
    (2022, 2022)
    >>> year_of("22 ")
    Traceback (most recent call last):
    ...
    kpi.errors.KpiError: year '22 ': expected a year such as 2022
    """
    if isinstance(value, bool):
        raise KpiError(f"year {value!r}: expected a year such as 2022")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 4:
        value = int(value.strip())
    if not isinstance(value, int) or not config.MIN_YEAR <= value <= config.MAX_YEAR:
        raise KpiError(f"year {value!r}: expected a year such as 2022")
    return value


def years_of(years: object) -> list[int]:
    """One year or several (a list, a range) as a list of years, each checked by ``year_of``."""
    if isinstance(years, (str, int, float)):
        return [year_of(years)]
    try:
        return [year_of(y) for y in years]
    except TypeError:
        raise KpiError(f"years {years!r}: expected a year such as 2022 or a list of years") from None


def check_years(obs: pd.DataFrame, *years: object) -> None:
    """Every year asked for has data in ``obs``; else one error naming the years present."""
    present = sorted(set(obs["year"].astype(int)))
    missing = [y for y in map(year_of, years) if y not in present]
    if missing:
        raise KpiError(
            f"year {', '.join(map(str, missing))}: no observation in the data given "
            f"(years present: {', '.join(map(str, present))})"
        )


def select(
    obs: pd.DataFrame,
    indicator: str | list[str] | None = None,
    area: object = None,
    years: int | list[int] | range | None = None,
) -> pd.DataFrame:
    """The rows of some indicators, one area and some years; each value is checked against what exists.

    Same columns as ``load_observations``.  ``area`` may be a number (``106``, ``3413``).
    """
    rows = obs
    wanted = None
    if indicator is not None:
        wanted = [indicator] if isinstance(indicator, str) else list(indicator)
        for ind in wanted:
            _known_indicator(ind, sorted(set(obs["indicator"])))
        rows = rows[rows["indicator"].isin(wanted)]
    if area is not None:
        code = area_code(area)
        name = reference.gazetteer().name(code)
        if code not in set(obs["area_code"]):
            raise KpiError(f"area {area!r} ({name}): no observation for it in the data given")
        if code not in set(rows["area_code"]):
            held = sorted(set(rows["area_code"]))
            raise KpiError(
                f"area {area!r} ({name}): no value of {', '.join(wanted or [])} for it in the data given; "
                f"areas with a value: {_area_list(held)}"
            )
        rows = rows[rows["area_code"] == code]
    if years is not None:  # a year or a list must have data; a range is a span, filtered
        wanted_years = years_of(years)
        if not isinstance(years, range):
            check_years(rows, *wanted_years)
        rows = rows[rows["year"].isin(wanted_years)]
    if area is not None:
        refuse_two_areas(rows, code)
    return rows.reset_index(drop=True)


def _area_list(codes: list[str], first: int = 6) -> str:
    gaz = reference.gazetteer()
    shown = ", ".join(f"{c} ({gaz.name(c)})" for c in codes[:first])
    return shown + (f", … ({len(codes)} in all)" if len(codes) > first else "") if codes else "none"


def refuse_two_areas(rows: pd.DataFrame, code: str) -> None:
    """Rows of one code that name two areas (03390 was Thị trấn Tam Đường, then Xã Bình Lư): never one series.

    Rows re-aggregated to the 2025 units (``kpi.reorg.series_in_new_units``) carry the new
    unit's name, so a series in the new units passes.
    """
    if "area_name" not in rows:  # a frame made by hand, without names: nothing to tell apart
        return
    names = rows.loc[rows["area_code"] == code].drop_duplicates("area_name").sort_values("year")
    if len(names) > 1:
        eras = ", ".join(f"{r.area_name} in {r.year}" for r in names.itertuples())
        raise KpiError(
            f"area {code} names two areas in the rows asked for ({eras}): the code was reused on 1 July 2025; "
            "choose years of one era (years=), or use the series re-aggregated to the 2025 units: "
            "kpi.reorg.series_in_new_units(obs)"
        )


LABELLED = frozenset(  # the columns ``labelled`` names in the reader's language; the others are kept as they are
    [
        "indicator",
        "area_code",
        "area_name",
        "year",
        "value",
        "unit",
        "status",
        "baseline_status",
        "target_status",
        "source_id",
        "source_ref",
        "change_abs",
        "change_pct",
        "cagr_pct",
        "baseline_value",
        "target_value",
        "baseline_year",
        "target_year",
    ]
)


def labelled(frame: pd.DataFrame, lang: str = config.DEFAULT_LANG) -> pd.DataFrame:
    """A table for reading: indicator, area, unit and status in ``lang`` ("vi" or "en"), columns named so.

    Works on observations, ``pick`` and ``compare`` results; the codes stay beside the names.

    >>> labelled(load_observations(data_dir).head(1), "en").columns.tolist()[:4]
    ['Indicator', 'Area', 'Year', 'Value']
    """
    from kpi import labels

    labels.check_lang(lang)
    out = pd.DataFrame(index=frame.index)
    col = lambda key: labels.text("columns", key, lang)
    if "indicator" in frame:
        out[col("indicator")] = frame["indicator"].map(lambda i: labels.indicator_name(i, lang))
    if "area_code" in frame:
        years = frame["year"] if "year" in frame else frame.get("target_year", pd.Series(None, index=frame.index))
        out[col("area")] = [
            labels.area_name(c, int(y) if pd.notna(y) else None, lang) for c, y in zip(frame["area_code"], years)
        ]
    for key in ("year", "value"):
        if key in frame:
            out[col(key)] = frame[key]
    for key in ("baseline", "target"):
        if f"{key}_value" in frame:
            out[f"{col(key)} {int(frame[f'{key}_year'].iloc[0])}" if len(frame) else col(key)] = frame[f"{key}_value"]
    for key in ("change_abs", "change_pct", "cagr_pct"):
        if key in frame:
            out[col(key)] = frame[key]
    if "unit" in frame:
        out[col("unit")] = frame["unit"].map(lambda u: labels.unit_label(u, lang))
    for key in ("status", "baseline_status", "target_status"):
        if key in frame:
            out[col(key)] = frame[key].map(
                lambda s: labels.status_label(s, lang, short=True) if isinstance(s, str) else s
            )
    for key, name in (("source_id", "source"), ("source_ref", "place")):
        if key in frame:
            out[col(name)] = frame[key]
    for key in frame.columns:  # the rest (a conflict's values and message, a note) as they are
        if key not in LABELLED and key not in out:
            out[key] = frame[key]
    return out.assign(
        **{"indicator_id": frame["indicator"]} if "indicator" in frame else {},
        **{"area_code": frame["area_code"]} if "area_code" in frame else {},
    )
