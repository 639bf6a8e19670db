"""The story a report tells first: per theme, key figures of the target year and one sentence.

Key indicators are data (column ``key`` of ``indicators.csv``: their order within a theme).
For an area without those (a commune), the theme's indicators with data stand in.

>>> scope = Scope(2012, 2022, "106", "en")
>>> changes = pd.DataFrame({"indicator": ["tea.output_fresh"], "unit": "t", "baseline_value": [3407.0],
...     "target_value": [10200.0], "baseline_status": "derived", "target_status": "reported",
...     "change_abs": [6793.0], "change_pct": [199.37], "complete": [True]})
>>> sentence(changes.iloc[0], scope).replace("\\u00a0", " ")
'Fresh tea bud output reached 10,200 t in 2022, up 6,793 t (+199.4 %) on 2012.'
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kpi import labels, reference
from kpi.views import Scope, is_missing

MAX_KEY_FIGURES = 4  # cards per theme: enough to tell where it stands, few enough to read at a glance


@dataclass(frozen=True)
class KeyFigure:
    indicator: str
    name: str
    value: str  # with unit and status word
    year: int
    change: str  # "+6.793 t (+199,4 %) so với 2012", or that the baseline is unknown
    status: str


def key_indicators(theme: str, available: set[str]) -> list[str]:
    """The theme's key indicators that have data; else its other indicators with data, in catalogue order."""
    cat = reference.catalogue()
    in_theme = cat[in_theme_of(cat, theme)]
    keyed = in_theme[in_theme["key"] != ""].assign(_k=lambda d: d["key"].astype(int)).sort_values("_k")
    chosen = [i for i in keyed.index if i in available]
    if not chosen:
        chosen = [i for i in in_theme.index if i in available and not i.endswith((".increase", ".printed"))]
    return chosen[:MAX_KEY_FIGURES]


def in_theme_of(cat: pd.DataFrame, theme: str) -> pd.Series:
    """Indicators of a theme: its own, and those of another theme it also reports (OCOP fish products
    are fish and initiatives alike: ``also_theme`` of the catalogue)."""
    return (cat["theme"] == theme) | (cat["also_theme"] == theme)


def two_documents(row: pd.Series) -> bool:
    """The two ends of a change come from two documents: two sources, or two web pages of one list of facts."""
    from kpi.cite import url_of

    if row.get("baseline_source", "") != row.get("target_source", ""):
        return True
    return url_of(row.get("baseline_note", "")) != url_of(row.get("target_note", ""))


def _pct(value: float, lang: str) -> str:
    return labels.fmt_change(value, lang, decimals=1) + "\u00a0%"


def sentence(row: pd.Series, scope: Scope) -> str:
    """One sentence on one indicator: where it stands in the target year and how it moved."""
    lang = scope.lang
    name = labels.indicator_name(row["indicator"], lang)
    target = labels.fmt_value(row["target_value"], row["unit"], lang, row["target_status"])
    values = {"name": name, "value": target, "target": scope.target, "baseline": scope.baseline}
    if not row["complete"]:
        return scope.t("story", "target_only", **values)
    change = row["change_abs"]
    if change == 0:
        return scope.t("story", "same", **values)
    magnitude = labels.fmt_value(abs(change), row["unit"], lang)
    pct = _pct(row["change_pct"], lang) if not is_missing(row["change_pct"]) else "–"
    text = scope.t("story", "up" if change > 0 else "down", change=magnitude, pct=pct, **values)
    if two_documents(row):
        text += " " + scope.t("story", "two_sources")  # two documents, perhaps counted differently
    return text


def latest_sentence(row: pd.Series, scope: Scope) -> str:
    value = labels.fmt_value(row["value"], row["unit"], scope.lang, row["status"])
    return scope.t(
        "story",
        "latest_only",
        name=labels.indicator_name(row["indicator"], scope.lang),
        value=value,
        year=int(row["year"]),
    )


def theme_story(best: pd.DataFrame, changes: pd.DataFrame, scope: Scope, theme: str) -> tuple[list[KeyFigure], str]:
    """Key figures of one theme and its sentence; ``best`` is the area's chosen values in the period."""
    cat = reference.catalogue()
    rows = best[best["indicator"].map(in_theme_of(cat, theme))]
    keys = key_indicators(theme, set(rows["indicator"]))
    by_ind = changes.set_index("indicator") if len(changes) else pd.DataFrame()
    figures, lead = [], ""
    for ind in keys:
        latest = rows[rows["indicator"] == ind].sort_values("year").iloc[-1]
        change_row = by_ind.loc[ind] if ind in by_ind.index else None
        at_target = change_row is not None and not is_missing(change_row["target_value"])
        if at_target and change_row["complete"]:
            change = scope.t(
                "text",
                "key_change",
                year=scope.baseline,
                change=labels.fmt_change(change_row["change_abs"], scope.lang, change_row["unit"])
                + (
                    f" ({_pct(change_row['change_pct'], scope.lang)})"
                    if not is_missing(change_row["change_pct"])
                    else ""
                ),
            )
            if two_documents(change_row):
                change += " " + scope.t("story", "two_sources_short")
        else:  # what is missing: the target year's figure (the card shows an earlier one), or the baseline's
            missing = scope.target if int(latest["year"]) != scope.target else scope.baseline
            change = scope.t("text", "key_no_change", year=missing)
        figures.append(
            KeyFigure(
                ind,
                labels.indicator_name(ind, scope.lang),
                labels.fmt_value(latest["value"], latest["unit"], scope.lang, latest["status"]),
                int(latest["year"]),
                change,
                latest["status"],
            )
        )
    complete = [i for i in keys if i in by_ind.index and by_ind.loc[i, "complete"]]
    at_target = [i for i in keys if i in by_ind.index and not is_missing(by_ind.loc[i, "target_value"])]
    if complete or at_target:
        first = (complete or at_target)[0]
        lead = sentence(pd.concat([pd.Series({"indicator": first}), by_ind.loc[first]]), scope)
    elif keys:
        lead = latest_sentence(rows[rows["indicator"] == keys[0]].sort_values("year").iloc[-1], scope)
    return figures, lead
