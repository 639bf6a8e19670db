"""Charts of indicators: a trend over the years, bars by commune or by source, in the house style.

The indicator is in the title, quantity and unit on the axis; lines join only consecutive
years (no line across a year without data); value axes start at zero; parts are stacked only
when the catalogue declares them disjoint; value labels that would collide with another text
are moved, or left out (the table beside the chart has every number).  The style, markers,
hatches and label placement are ``kpi.figures``.

Every function returns a figure Jupyter shows once (as the value of the cell); a report
shows it through ``kpi.display``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from kpi import config, figures, labels, reference
from kpi.errors import KpiError


def closest(value: str, known: list[str], n: int = 3) -> list[str]:
    import difflib

    return difflib.get_close_matches(value, known, n=n, cutoff=0.4) or known[:n]


def _rows_of(obs: pd.DataFrame, indicator: str) -> pd.DataFrame:
    rows = obs[obs["indicator"] == indicator]
    if rows.empty:
        known = sorted(set(obs["indicator"])) or sorted(reference.catalogue().index)
        raise KpiError(
            f"indicator {indicator!r} has no value in the data given; closest indicators: "
            f"{', '.join(closest(indicator, known))}"
        )
    areas = sorted(set(rows["area_code"]))
    if len(areas) > 1:
        names = ", ".join(f"{a} ({labels.area_name(a, None, 'en')})" for a in areas[:6])
        raise KpiError(
            f"{indicator}: the rows are of {len(areas)} areas ({names}{', …' if len(areas) > 6 else ''}); "
            "a trend is one area's series: give area=, e.g. trend(obs, indicator, area='106')"
        )
    from kpi.api import refuse_two_areas

    refuse_two_areas(rows, areas[0])
    return rows


@figures.styled
def trend(
    obs: pd.DataFrame,
    indicator: str,
    area: object = None,
    *,
    lang: str | None = None,
    label_points: bool = True,
    colours: dict[str, str] | None = None,
    series: str = "source_id",
    title: str | None = None,
) -> Figure:
    """Every value of one indicator of one area over the years: a colour per ``series``, a marker per status.

    ``area`` picks the area from ``obs`` (``106``, ``"03413"``); ``series`` is the column naming
    each line (the source by default; reports use the numbered citation); ``lang`` defaults to
    the package's language (``kpi.config.DEFAULT_LANG``).  Raises KpiError when the indicator
    has no row, or the rows are of several areas and no ``area`` is given, or one code names
    two areas (a code reused in 2025): one line never runs through different areas.
    """
    lang = lang or config.DEFAULT_LANG
    labels.check_lang(lang)
    if area is not None:
        from kpi.api import select

        obs = select(obs, indicator=indicator, area=area)
    rows = _rows_of(obs, indicator).sort_values("year")
    fig, ax = figures.new_figure(4.0)
    names = sorted(dict.fromkeys(rows[series]), key=figures.natural)
    colours = colours or {s: figures.COLOURS[i % len(figures.COLOURS)] for i, s in enumerate(names)}
    unit = rows["unit"].iloc[0]
    for name in names:
        _series_line(ax, rows[rows[series] == name].drop_duplicates("year"), colours.get(name, figures.COLOURS[0]))
    years = sorted(set(rows["year"].astype(int)))
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.set_ylim(0, max(rows["value"].max(), 1) * 1.18)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.set_major_formatter(lambda v, _: labels.fmt_number(v, lang))
    ax.set_ylabel(labels.quantity_label(unit, lang))
    ax.set_xlabel(labels.text("columns", "year", lang))
    figures.title(fig, title or labels.indicator_name(indicator, lang))
    handles = [Line2D([], [], color=colours.get(n, figures.COLOURS[0]), linewidth=2, label=str(n)) for n in names]
    figures.legend_below(fig, handles + figures.status_handles(list(rows["status"].unique()), lang))
    if label_points:
        _label_points(fig, ax, rows, unit, lang, [colours.get(n, figures.COLOURS[0]) for n in rows[series]])
    return fig


def _series_line(ax, part: pd.DataFrame, colour: str) -> None:
    """One series: lines between consecutive years only, a marker per status at every point."""
    by_year = dict(zip(part["year"].astype(int), part["value"]))
    for run in figures.segments(sorted(by_year)):
        if len(run) > 1:
            ax.plot(run, [by_year[y] for y in run], color=colour, linewidth=1.5, alpha=0.8)
    for r in part.itertuples():
        marker = figures.MARKERS.get(r.status, figures.MARKERS["reported"])
        ax.plot([r.year], [r.value], color=colour, markersize=8, linestyle="", **marker)


def _label_points(fig: Figure, ax, rows: pd.DataFrame, unit: str, lang: str, colours: list[str]) -> None:
    """Each point's value beside it, where it collides with no other text or marker."""
    renderer = figures.freeze(fig)
    taken = [t.get_window_extent(renderer) for t in figures.drawn_texts(fig) if t.get_visible() and t.get_text()]
    taken += [line.get_window_extent(renderer) for line in ax.get_lines() if len(line.get_xdata()) == 1]
    for r, colour in zip(rows.itertuples(), colours):
        text = labels.fmt_number(r.value, lang, labels.decimals_for(r.value, unit))
        figures.place(ax, text, (r.year, r.value), renderer, taken, figures.POINT_OFFSETS, color=colour)


def check_stackable(indicators: list[str]) -> None:
    """Parts are stacked only when the catalogue declares them disjoint classes of one whole."""
    groups = reference.catalogue().reindex(indicators)["stack_group"].fillna("")
    if len(indicators) > 1 and (groups.eq("").any() or groups.nunique() != 1):
        raise KpiError(
            f"cannot stack {', '.join(indicators)}: they are not declared disjoint classes of one total "
            "(column stack_group of indicators.csv); nested classes would be counted twice"
        )


@figures.styled
def bars(
    table: pd.DataFrame,
    category: str,
    indicators: list[str],
    lang: str = config.DEFAULT_LANG,
    title: str = "",
    stacked: bool = False,
    series_names: dict[str, str] | None = None,
) -> Figure:
    """Horizontal bars of several indicators (one unit) per category (a commune, a source), from zero.

    ``table`` has columns ``category``, indicator, value, unit, status.  ``stacked`` only for
    indicators the catalogue declares disjoint (``stack_group``).
    """
    labels.check_lang(lang)
    units = set(table.loc[table["indicator"].isin(indicators), "unit"])
    if len(units) != 1:
        raise KpiError(
            f"bars of one chart share one unit; got {sorted(units) or 'no rows'} for {', '.join(indicators)}"
        )
    if stacked:
        check_stackable(indicators)
    unit = units.pop()
    cats = list(dict.fromkeys(table[category]))
    per_cat = 1 if stacked else len(indicators)
    fig, ax = figures.new_figure(0.32 * max(len(cats) * per_cat, 3) + 1.6)
    height = 0.8 / per_cat
    left = pd.Series(0.0, index=cats)
    drawn = []
    for i, indicator in enumerate(indicators):
        part = table[table["indicator"] == indicator].drop_duplicates(category).set_index(category).reindex(cats)
        offsets = [c + (0 if stacked else (i - (per_cat - 1) / 2) * height) for c in range(len(cats))]
        values = part["value"].fillna(0).astype(float)
        colour = figures.COLOURS[i % len(figures.COLOURS)]
        bar = ax.barh(
            offsets,
            values,
            height=height,
            left=left.values if stacked else None,
            color=colour,
            edgecolor="white" if stacked else None,
            linewidth=0.8,
        )
        _hatch(bar, part["status"])
        drawn.append((bar, values, part["status"], left.copy()))
        if stacked:
            left = left + values.values
    ax.set_yticks(range(len(cats)), cats)
    ax.invert_yaxis()
    top = (left.max() if stacked else table.loc[table["indicator"].isin(indicators), "value"].max()) or 1
    ax.set_xlim(0, top * 1.25)
    ax.xaxis.set_major_formatter(lambda v, _: labels.fmt_number(v, lang))
    ax.set_xlabel(labels.quantity_label(unit, lang))
    figures.title(fig, title)
    handles = _bar_handles(indicators, series_names, set(table["status"].dropna()), lang)
    figures.legend_below(fig, handles, ncols=1 if any(len(h.get_label()) > 40 for h in handles) else None)
    _bar_labels(fig, ax, drawn, unit, lang, stacked, left, cats)
    return fig


def _bar_handles(indicators: list[str], series_names: dict | None, statuses: set[str], lang: str) -> list[Patch]:
    """The legend of a bar chart: a colour per indicator (when several), a hatch per status shown."""
    names = series_names or {i: labels.indicator_name(i, lang) for i in indicators}
    colours = figures.COLOURS
    handles = [
        Patch(facecolor=colours[i % len(colours)], label=names.get(ind, ind)) for i, ind in enumerate(indicators)
    ]
    hatched = [
        Patch(
            facecolor="#888888",
            edgecolor="#ffffff",
            hatch=figures.HATCHES[s],
            label=labels.status_label(s, lang, short=True),
        )
        for s in figures.HATCHES
        if s != "reported" and s in statuses
    ]
    return (handles if len(indicators) > 1 else []) + hatched


def _hatch(bar, statuses: pd.Series) -> None:
    """Bars of figures not plainly reported are hatched, as their legend entry is."""
    for patch, status in zip(bar, statuses):
        hatch = figures.HATCHES.get(status, "") if isinstance(status, str) else ""
        if hatch:
            patch.set_hatch(hatch)
            patch.set_edgecolor("#ffffff")


def by_commune(
    obs: pd.DataFrame,
    indicator: str,
    year: int | None = None,
    area: object = config.DEFAULT_AREA,
    *,
    lang: str | None = None,
) -> Figure:
    """Bars of one indicator for each unit inside ``area`` in ``year`` (one value each, by source priority).

    Without ``year``: the latest year in which a unit inside ``area`` has a value.
    """
    from kpi import api, sources

    lang = lang or config.DEFAULT_LANG
    labels.check_lang(lang)
    rows = api.select(obs, indicator=indicator)
    if year is None:
        year = _latest_inside(rows, indicator, area)
    year = api.year_of(year)
    api.check_years(rows, year)
    code = api.area_code(area, year)
    units = api.areas(year)
    inside = set(units.loc[units["parent"] == code, "code"])
    rows = sources.pick(rows[rows["area_code"].isin(inside) & (rows["year"] == year)])
    if rows.empty:
        raise KpiError(
            f"{indicator} {year}: no value for the units inside {code} ({labels.area_name(code, year, lang)})"
        )
    rows = rows.assign(area=rows["area_code"].map(lambda c: labels.area_name(c, year, lang))).sort_values("area")
    title = labels.text("text", "by_commune_title", lang, name=labels.indicator_name(indicator, lang), year=year)
    return bars(rows, "area", [indicator], lang, title)


def _latest_inside(rows: pd.DataFrame, indicator: str, area: object) -> int:
    """The latest year with a value of ``indicator`` for a unit inside ``area`` (in that year's units)."""
    from kpi import api

    for year in sorted(set(rows["year"].astype(int)), reverse=True):
        code = api.area_code(area, None)
        units = api.areas(year)
        inside = set(units.loc[units["parent"] == code, "code"])
        if rows.loc[rows["year"] == year, "area_code"].isin(inside).any():
            return year
    raise KpiError(f"{indicator}: no value for the units inside {area} in any year of the data given")


def _bar_labels(
    fig: Figure, ax: plt.Axes, drawn: list, unit: str, lang: str, stacked: bool, totals: pd.Series, cats: list
) -> None:
    """Numbers inside stacked segments where they fit, totals (or values) after each bar."""
    renderer = figures.freeze(fig)
    if stacked:
        ends = [(totals[cat], labels.fmt_value(totals[cat], unit, lang)) for cat in cats if totals[cat]]
    else:
        ends = [
            (v, labels.fmt_value(v, unit, lang, s if isinstance(s, str) else None))
            for _bar, values, statuses, _left in drawn
            for v, s in zip(values, statuses)
            if v
        ]
    figures.make_room(ax, renderer, ends)
    taken = [t.get_window_extent(renderer) for t in figures.drawn_texts(fig) if t.get_visible() and t.get_text()]
    for bar, values, statuses, _left in drawn:
        for patch, value, status in zip(bar, values, statuses):
            if not value:
                continue
            y = patch.get_y() + patch.get_height() / 2
            if stacked:
                seg = patch.get_window_extent(renderer)
                label = ax.text(
                    patch.get_x() + patch.get_width() / 2,
                    y,
                    labels.fmt_number(value, lang),
                    ha="center",
                    va="center",
                    fontsize=figures.LABEL_SIZE,
                    color="white",
                    fontweight="bold",
                )
                box = label.get_window_extent(renderer)
                if box.width + 4 > seg.width or box.height > seg.height:
                    label.remove()
            else:
                figures.place(
                    ax,
                    labels.fmt_value(value, unit, lang, status if isinstance(status, str) else None),
                    (value, y),
                    renderer,
                    taken,
                    [(figures.END_LABEL_GAP_PT, 0, "left", "center")],
                )
    if stacked:
        for i, cat in enumerate(cats):
            if totals[cat]:
                figures.place(
                    ax,
                    labels.fmt_value(totals[cat], unit, lang),
                    (totals[cat], i),
                    renderer,
                    taken,
                    [(figures.END_LABEL_GAP_PT, 0, "left", "center")],
                )
