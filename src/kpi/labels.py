"""Labels and number formats for readers, in Vietnamese (first) or English.

Values and units are joined by a no-break space, so a unit never wraps away from its number.

>>> [fmt_value(v, u, lang).replace("\u00a0", " ") for lang in ("vi", "en") for v, u in ((41100, "t"), (74.03, "ha"))]
['41.100 t', '74,03 ha', '41,100 t', '74.03 ha']
>>> [fmt_value(9, "facility", lang).replace("\u00a0", " ") for lang in ("vi", "en")]
['9 cơ sở', '9 farms']
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import pandas as pd
import yaml

from kpi import config, reference
from kpi.errors import ParameterError
from kpi.text import format_number

LANGS = config.LANGS


@functools.lru_cache(maxsize=2)
def _labels(ref_dir: Path | None = None) -> dict:
    with ((ref_dir or config.REFERENCE_DIR) / "labels.yml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@functools.lru_cache(maxsize=2)
def _unit_labels(ref_dir: Path | None = None) -> pd.DataFrame:
    return pd.read_csv((ref_dir or config.REFERENCE_DIR) / "unit_labels.csv", dtype=str,
                       keep_default_na=False).set_index("unit")


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ParameterError(f"lang={lang!r}: expected 'vi' or 'en'")
    return lang


def text(group: str, key: str, lang: str) -> str:
    """A label from ``labels.yml``: ``text("columns", "source", "vi")`` → ``Nguồn``."""
    entry = _labels().get(group, {}).get(key)
    if entry is None:
        raise KeyError(f"no label {group}.{key} in labels.yml")
    return entry[check_lang(lang)]


def unit_label(unit: str, lang: str) -> str:
    table = _unit_labels()
    return table.loc[unit, check_lang(lang)] if unit in table.index else unit


def indicator_name(indicator: str, lang: str) -> str:
    cat = reference.catalogue()
    return cat.loc[indicator, "name_vi" if check_lang(lang) == "vi" else "name_en"] if indicator in cat.index else indicator


def status_label(status: str, lang: str) -> str:
    return text("status", status, lang)


def _decimals(value: float, unit: str) -> int | None:
    if unit in ("%",):
        return 1
    if unit in ("t/ha", "kg/m3"):
        return 2
    return None


def fmt_number(value: float | None, lang: str, decimals: int | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format_number(float(value), check_lang(lang), decimals)


def fmt_value(value: float | None, unit: str, lang: str, status: str | None = None) -> str:
    """A value with its unit as a reader sees it; bounds and estimates get their word."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    number = fmt_number(value, lang, _decimals(value, unit))
    prefix = {"lower_bound": {"vi": "trên ", "en": "over "}, "upper_bound": {"vi": "dưới ", "en": "under "},
              "estimate": {"vi": "ước ", "en": "about "}}.get(status or "", {}).get(lang, "")
    return f"{prefix}{number}\u00a0{unit_label(unit, lang)}"


def fmt_change(value: float | None, lang: str, unit: str = "", decimals: int | None = None) -> str:
    """A signed change: ``+4.085 t``, ``+12,0 %``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign = "+" if value > 0 else ""
    number = fmt_number(value, lang, decimals if decimals is not None else _decimals(value, unit))
    return f"{sign}{number}" + (f"\u00a0{unit_label(unit, lang)}" if unit else "")


def area_name(code: str, year: int, lang: str) -> str:
    gaz = reference.gazetteer()
    row = gaz.areas[(gaz.areas["code"] == code) & gaz.areas["era"].isin([reference.era_of_year(year), "all", "former"])]
    if row.empty:
        return code
    return row.iloc[0]["name_vi" if lang == "vi" else "name_en"]
