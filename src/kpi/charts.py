"""Charts in one house style: units on axes, Vietnamese diacritics, statuses drawn differently.

Markers: ● reported, ○ derived, ◇ estimate, ▲ lower bound, ▼ upper bound; the legend
explains them.  Bars of derived, estimated or bounded values are hatched.  Every function
returns a matplotlib Figure.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from kpi import labels

FONT = "DejaVu Sans"  # ships with matplotlib and covers every Vietnamese letter
COLOURS = ["#1f5f8b", "#c8553d", "#588b3b", "#8c6bb1", "#d49a2a", "#4b4b4b", "#2a9d8f", "#b5838d"]
MARKERS = {
    "reported": {"marker": "o", "fillstyle": "full"},
    "preliminary": {"marker": "s", "fillstyle": "none"},
    "derived": {"marker": "o", "fillstyle": "none"},
    "estimate": {"marker": "D", "fillstyle": "none"},
    "lower_bound": {"marker": "^", "fillstyle": "full"},
    "upper_bound": {"marker": "v", "fillstyle": "full"},
}
HATCHES = {"reported": "", "preliminary": "xx", "derived": "//", "estimate": "..", "lower_bound": "^^", "upper_bound": "vv"}
STYLE = {
    "font.family": FONT, "font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold",
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    "figure.dpi": 96, "savefig.dpi": 96, "figure.figsize": (8, 4.2), "legend.frameon": False,
}


def use_style() -> None:
    """Apply the house style to matplotlib (called by ``kpi.report.start``)."""
    plt.rcParams.update(STYLE)


def axis_label(indicator: str, unit: str, lang: str) -> str:
    return f"{labels.indicator_name(indicator, lang)} ({labels.unit_label(unit, lang)})"


def _status_legend(statuses: list[str], lang: str) -> list[Line2D]:
    return [Line2D([], [], linestyle="", color="#333333", markersize=7, label=labels.status_label(s, lang),
                   **MARKERS[s]) for s in MARKERS if s in statuses]


def source_colours(source_ids: list[str]) -> dict[str, str]:
    """One colour per source, the same in every chart of a run (sources in the given order)."""
    return {s: COLOURS[i % len(COLOURS)] for i, s in enumerate(dict.fromkeys(source_ids))}


def trend(obs: pd.DataFrame, indicator: str, lang: str, label_points: bool = True,
          colours: dict[str, str] | None = None) -> plt.Figure:
    """Every value of one indicator over the years, one colour per source, marker per status.

    ``obs`` holds the rows of one area (any number of sources); ``colours`` maps sources to colours.
    """
    rows = obs[obs["indicator"] == indicator].sort_values("year")
    fig, ax = plt.subplots()
    sources = list(dict.fromkeys(rows["source_id"]))
    colours = colours or source_colours(sorted(sources))
    for source in sources:
        part = rows[rows["source_id"] == source]
        colour = colours[source]
        ax.plot(part["year"], part["value"], color=colour, linewidth=1, alpha=0.6)
        for r in part.itertuples():
            ax.plot([r.year], [r.value], color=colour, markersize=8, linestyle="", **MARKERS[r.status])
            if label_points:
                ax.annotate(f"{labels.fmt_number(r.value, lang, 2 if r.value < 100 else 0)}\n{source}",
                            (r.year, r.value), textcoords="offset points", xytext=(6, 4), fontsize=7, color=colour)
    unit = rows["unit"].iloc[0] if len(rows) else ""
    ax.set_ylabel(axis_label(indicator, unit, lang))
    ax.set_xlabel(labels.text("columns", "year", lang))
    ax.set_title(labels.indicator_name(indicator, lang))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.set_major_formatter(lambda v, _: labels.fmt_number(v, lang))
    handles = [Line2D([], [], color=colours[s], linewidth=2, label=s) for s in sources]
    handles += _status_legend(list(rows["status"].unique()), lang)
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig


def bars(table: pd.DataFrame, category: str, indicators: list[str], lang: str, title: str,
         stacked: bool = False) -> plt.Figure:
    """Horizontal bars of several indicators (same unit) per category (a commune, a source).

    ``table`` has columns ``category``, indicator, value, unit, status.
    """
    units = set(table.loc[table["indicator"].isin(indicators), "unit"])
    if len(units) > 1:
        raise ValueError(f"bars of one chart share a unit; got {sorted(units)}")
    cats = list(dict.fromkeys(table[category]))
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(cats), 3) + 1.2))
    left = pd.Series(0.0, index=cats)
    height = 0.8 / (1 if stacked else len(indicators))
    for i, indicator in enumerate(indicators):
        part = table[table["indicator"] == indicator].set_index(category).reindex(cats)
        offsets = [c + (0 if stacked else (i - (len(indicators) - 1) / 2) * height) for c in range(len(cats))]
        values = part["value"].fillna(0)
        hatches = [HATCHES.get(s, "") if isinstance(s, str) else "" for s in part["status"]]
        bar = ax.barh(offsets, values, height=height, left=left.values if stacked else None,
                      color=COLOURS[i % len(COLOURS)], label=labels.indicator_name(indicator, lang))
        for patch, hatch in zip(bar, hatches):
            patch.set_hatch(hatch)
        for y, v, l0, s in zip(offsets, values, left.values, part["status"]):
            if v:
                ax.annotate(labels.fmt_value(v, part["unit"].dropna().iloc[0], lang, s if isinstance(s, str) else None),
                            ((l0 if stacked else 0) + v, y), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=7)
        if stacked:
            left = left + values.values
    ax.set_yticks(range(len(cats)), cats)
    ax.invert_yaxis()
    unit = units.pop() if units else ""
    ax.set_xlabel(f"{labels.text('columns', 'value', lang)} ({labels.unit_label(unit, lang)})")
    ax.set_title(title)
    statuses = [s for s in table["status"].dropna().unique() if s != "reported"]
    handles = [Patch(facecolor=COLOURS[i % len(COLOURS)], label=labels.indicator_name(ind, lang))
               for i, ind in enumerate(indicators)] if len(indicators) > 1 else []
    handles += [Patch(facecolor="white", edgecolor="#333333", hatch=HATCHES[s], label=labels.status_label(s, lang))
                for s in statuses]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig
