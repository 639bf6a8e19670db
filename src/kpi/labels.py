"""Labels and number formats for readers, in Vietnamese (first) or English.

Every user-facing word lives in ``data/reference/labels.yml`` (and the unit, value and
caveat tables beside it); this module looks them up.  Values and units are joined by a
no-break space, so a unit never wraps away from its number; English units agree in number.

>>> [fmt_value(v, u, lang).replace("\u00a0", " ") for lang in ("vi", "en") for v, u in ((41100, "t"), (74.03, "ha"))]
['41.100 t', '74,03 ha', '41,100 t', '74.03 ha']
>>> [fmt_value(n, "facility", lang).replace("\u00a0", " ") for lang in ("vi", "en") for n in (1, 9)]
['1 cơ sở', '9 cơ sở', '1 farm', '9 farms']
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from kpi import config, reference
from kpi.errors import ParameterError
from kpi.text import format_number

if TYPE_CHECKING:
    import pandas as pd

LANGS = config.LANGS


@reference.per_folder(2)
def _labels() -> dict:
    with (config.reference_dir() / "labels.yml").open(encoding="utf-8") as fh:
        return reference.read_yaml(fh.read())


@reference.per_folder(32)  # read once per process: labels are looked up for every cell of a report
def _table(name: str, index: str | tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(config.reference_dir() / name, dtype=str, keep_default_na=False).set_index(
        list(index) if isinstance(index, tuple) else index
    )


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ParameterError(f"lang={lang!r}: expected 'vi' or 'en'")
    return lang


def _is_one(n: object) -> bool:
    return isinstance(n, (int, float)) and not isinstance(n, bool) and n == 1


def text(group: str, key: str, lang: str, n: float | None = None, **values: object) -> str:
    """A label from ``labels.yml``, its fields filled: ``text("columns", "source", "vi")`` → ``Nguồn``.

    ``n`` picks the singular form (``en_one``) when it is 1.

    >>> text("text", "rows_left_out", "en", n=1, shown=200, total=201, hidden=1).split("; ")[1]
    'the other one is left out to keep the report small.'
    """
    entry = _labels().get(group, {}).get(key)
    if entry is None:
        raise KeyError(f"no label {group}.{key} in labels.yml")
    check_lang(lang)
    template = entry.get(f"{lang}_one", entry[lang]) if _is_one(n) else entry[lang]
    if n is not None:
        values = {"n": n, **values}
    return template.format(**values) if values else template


def has_text(group: str, key: str) -> bool:
    return key in _labels().get(group, {})


def unit_label(unit: str, lang: str, value: float | None = None) -> str:
    """The unit as printed: ``cơ sở``; in English singular for one (``1 farm``)."""
    table = _table("unit_labels.csv", "unit")
    if unit not in table.index:
        return unit
    column = "en_one" if check_lang(lang) == "en" and _is_one(value) else lang
    return table.loc[unit, column]


def quantity_label(unit: str, lang: str) -> str:
    """What a unit measures, for an axis: ``Diện tích (ha)``; a count needs no unit: ``Số cơ sở``, ``Farms``.

    >>> quantity_label("ha", "vi"), quantity_label("facility", "vi"), quantity_label("facility", "en")
    ('Diện tích (ha)', 'Số cơ sở', 'Farms')
    >>> quantity_label("t", "en")  # the unit's word, not a letter inside another word
    'Weight (t)'
    """
    table = _table("unit_labels.csv", "unit")
    quantity = table.loc[unit, f"quantity_{check_lang(lang)}"] if unit in table.index else ""
    shown = unit_label(unit, lang)
    if not quantity:
        return shown
    named = re.search(rf"(?<!\w){re.escape(shown.casefold())}(?!\w)", quantity.casefold())
    return quantity if named else f"{quantity} ({shown})"


def indicator_name(indicator: str, lang: str) -> str:
    cat = reference.catalogue()
    return (
        cat.loc[indicator, "name_vi" if check_lang(lang) == "vi" else "name_en"]
        if indicator in cat.index
        else indicator
    )


def definition(indicator: str, lang: str) -> str:
    cat = reference.catalogue()
    if indicator not in cat.index:
        return ""
    return cat.loc[indicator, "definition_vi" if check_lang(lang) == "vi" else "definition"]


def status_label(status: str, lang: str, short: bool = False) -> str:
    return text("status_short" if short else "status", status, lang)


def value_label(column: str, value: object, lang: str) -> object:
    """A category value of a list (crop ``lúa``, kind ``sản phẩm OCOP``) in the edition's language.

    Proper names are not in the table and stay as they are.

    >>> value_label("crop", "lúa", "en"), value_label("crop", "lúa", "vi"), value_label("name", "Séng cù", "en")
    ('rice', 'lúa', 'Séng cù')
    """
    if check_lang(lang) == "vi" or not isinstance(value, str):
        return value
    table = _table("value_labels.csv", ("column", "vi"))
    key = (column, value)
    return table.loc[key, "en"] if key in table.index else value


def publication(lang: str) -> dict[str, str]:
    """Who issues the reports and the series they belong to, in ``lang`` (``publication.csv``)."""
    return _table("publication.csv", "key")[check_lang(lang)].to_dict()


PLACE_WORD = re.compile(r"\(([^()]+)\)")


def place_words(place: str, lang: str) -> str:
    """A place in a source with its bracketed words in the edition's language (``place_labels.csv``).

    >>> place_words("P13 (increase)", "vi"), place_words("§B.I.2.3 (trồng trọt)", "en")
    ('P13 (mức tăng)', '§B.I.2.3 (crop farming)')
    """
    table = _table("place_labels.csv", "term")
    column = check_lang(lang)

    def word(match: re.Match) -> str:
        term = match.group(1)
        return f"({table.loc[term, column]})" if term in table.index else match.group(0)

    return PLACE_WORD.sub(word, place) if isinstance(place, str) else place


def month_name(month: int, lang: str) -> str:
    return text("months", str(int(month)), lang)


def decimals_for(value: float, unit: str) -> int | None:
    """Decimals a value of ``unit`` is shown with (None: as many as it has, up to two)."""
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
    number = fmt_number(value, lang, decimals_for(value, unit))
    prefix = text("value_prefix", status, lang) if status and has_text("value_prefix", status) else ""
    return f"{prefix}{number}\u00a0{unit_label(unit, lang, value)}"


def fmt_change(value: float | None, lang: str, unit: str = "", decimals: int | None = None) -> str:
    """A signed change: ``+4.085 t``, ``+12,0 %``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign = "+" if value > 0 else ""
    number = fmt_number(value, lang, decimals if decimals is not None else decimals_for(value, unit))
    return f"{sign}{number}" + (f"\u00a0{unit_label(unit, lang, abs(value))}" if unit else "")


def area_name(code: str, year: int | None, lang: str) -> str:
    """The area's name in the era of ``year`` (03390 is Thị trấn Tam Đường up to 2024, Xã Bình Lư after)."""
    return _area_name(code, None if year is None else int(year), check_lang(lang))


@reference.per_folder(1 << 12)
def _area_name(code: str, year: int | None, lang: str) -> str:
    gaz = reference.gazetteer()
    eras = [reference.era_of_year(year), "all", "former"] if year is not None else ["pre2025", "all", "former"]
    rows = gaz.areas[(gaz.areas["code"] == code) & gaz.areas["era"].isin(eras)]
    if rows.empty:
        return code
    return rows.iloc[0]["name_vi" if lang == "vi" else "name_en"]
