"""Charts in one house style: the indicator in the title, quantity and unit on the axis.

Markers: ● reported, ○ derived, ◇ estimate, ▲ lower bound, ▼ upper bound, ■ preliminary;
bars of figures that are not plainly reported are hatched, in the chart as in its legend.
Lines join only consecutive years (no line across a year without data); value axes start
at zero; legends sit under the plot so they never squeeze it; value labels that would
collide with another text are moved, or left out (the table beside the chart has every
number).  ``overlaps`` measures collisions on a drawn figure, for the tests.

Every function returns a closed matplotlib Figure: Jupyter shows it once (as the value of
the cell), and a report shows it through ``kpi.display``.
"""

from __future__ import annotations

import functools
import itertools
import textwrap

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from kpi import config, labels, reference
from kpi.errors import KpiError

FONT = "DejaVu Sans"  # ships with matplotlib and covers every Vietnamese letter
COLOURS = ["#1f5f8b", "#c8553d", "#588b3b", "#8c6bb1", "#d49a2a", "#4b4b4b", "#2a9d8f", "#b5838d"]
MARKERS = {
    "reported": {"marker": "o", "fillstyle": "full"},
    "preliminary": {"marker": "s", "fillstyle": "full"},
    "derived": {"marker": "o", "fillstyle": "none"},
    "estimate": {"marker": "D", "fillstyle": "none"},
    "lower_bound": {"marker": "^", "fillstyle": "full"},
    "upper_bound": {"marker": "v", "fillstyle": "full"},
}
# matplotlib knows / \ | - + x o O . * ; "^^" is not a hatch and drew a solid bar under a hatched legend
HATCHES = {
    "reported": "",
    "preliminary": "\\\\",
    "derived": "//",
    "estimate": "..",
    "lower_bound": "xx",
    "upper_bound": "--",
}
WIDTH_IN = 7.0  # 672 px at 96 dpi: wide enough on a page, still legible scaled to a phone
STYLE = {
    "font.family": [FONT, "sans-serif"],
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 96,
    "savefig.dpi": 150,
    "figure.figsize": (WIDTH_IN, 4.0),
    "legend.frameon": False,
    "svg.fonttype": "path",  # glyphs as shapes: the chart looks the same on a computer without DejaVu Sans
}
LABEL_SIZE = 8
EDGE_PAD_IN = 0.14  # inches of margin kept free around a chart (10 pt)
EDGE_MARGIN_PX = 5  # what ``overlaps`` demands: no text closer than this to the figure's edge
TITLE_CHARS = 62  # a longer title wraps: at 12 pt bold, about what fits the figure's width


def use_style() -> None:
    """Apply the house style to matplotlib (called by ``kpi.report.start``)."""
    plt.rcParams.update(STYLE)


def _styled(function):
    """Draw in the house style without changing the caller's matplotlib settings."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return function(*args, **kwargs)

    return wrapper


class KpiFigure(Figure):
    """A figure that shows itself in Jupyter (as the value of a cell), whatever backend the kernel has.

    It is not in pyplot's list of figures (so a cell shows it once): ``plt.show()`` does not
    show it; ``fig.show()`` and ``display(fig)`` do, and ``fig.savefig("chart.svg")`` saves it.
    """

    def show(self, warn: bool = True) -> None:
        """Show the chart in Jupyter; outside Jupyter there is no screen to show it on: save it instead."""
        from IPython import get_ipython

        if get_ipython() is None:
            raise KpiError("fig.show() shows a chart in Jupyter; in a script, save it: fig.savefig('chart.svg')")
        from IPython.display import display

        display(self)

    def _repr_png_(self) -> bytes:
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=110)
        return buffer.getvalue()


def _new_figure(height: float) -> tuple[Figure, plt.Axes]:
    """A figure outside pyplot's list: Jupyter shows it once, as the cell's value, never again by itself."""
    fig = KpiFigure(figsize=(WIDTH_IN, height), layout="constrained")
    # room at the edges: text is measured at one resolution and drawn at others (SVG, print, a screen), where
    # its width differs by a few per cent; without it, a long category name touching the edge is cut
    fig.get_layout_engine().set(w_pad=EDGE_PAD_IN, h_pad=EDGE_PAD_IN / 2)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


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


def _title(fig: Figure, title: str) -> None:
    """The chart's title at the figure's left edge (not the axes': long category names push those right)."""
    if title:
        fig.suptitle(textwrap.fill(title, TITLE_CHARS), x=0.01, ha="left", fontsize=12, fontweight="bold")


def _status_handles(statuses: list[str], lang: str) -> list[Line2D]:
    return [
        Line2D(
            [],
            [],
            linestyle="",
            color="#333333",
            markersize=7,
            label=labels.status_label(s, lang, short=True),
            **MARKERS[s],
        )
        for s in MARKERS
        if s in statuses
    ]


def _legend_below(fig: Figure, handles: list, ncols: int | None = None) -> None:
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=ncols or min(len(handles), 3), fontsize=8)


def _freeze(fig: Figure) -> object:
    """Lay the figure out once, then keep it: value labels are placed against the final axes."""
    fig.draw_without_rendering()  # layout and text sizes, no pixels
    fig.set_layout_engine("none")
    return fig.canvas.get_renderer()


def _place(ax: plt.Axes, text: str, xy: tuple[float, float], renderer, taken: list, offsets, **kw) -> Text | None:
    """Put a label near ``xy`` at the first offset where it collides with nothing; None if none fits."""
    axes_box = ax.get_window_extent(renderer)
    for dx, dy, ha, va in offsets:
        label = ax.annotate(
            text,
            xy,
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=LABEL_SIZE,
            annotation_clip=False,
            **kw,
        )
        box = label.get_window_extent(renderer).expanded(1.05, 1.1)
        inside = (
            box.x0 >= axes_box.x0 - 2
            and box.x1 <= axes_box.x1 + 2
            and box.y0 >= axes_box.y0 - 2
            and box.y1 <= axes_box.y1 + 2
        )
        if inside and not any(box.overlaps(other) for other in taken):
            taken.append(box)
            return label
        label.remove()
    return None


POINT_OFFSETS = [
    (0, 7, "center", "bottom"),
    (0, -8, "center", "top"),
    (8, 0, "left", "center"),
    (-8, 0, "right", "center"),
    (8, 8, "left", "bottom"),
    (-8, 8, "right", "bottom"),
    (8, -8, "left", "top"),
    (-8, -8, "right", "top"),
]


def _natural(name: object) -> tuple:
    """``[2] …`` before ``[10] …``: legends in the order of the reference numbers."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(name)))


def _segments(years: list[int]) -> list[list[int]]:
    """Runs of consecutive years: a line joins only these (never across a year without data)."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return runs


@_styled
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
    fig, ax = _new_figure(4.0)
    names = sorted(dict.fromkeys(rows[series]), key=_natural)
    colours = colours or {s: COLOURS[i % len(COLOURS)] for i, s in enumerate(names)}
    unit = rows["unit"].iloc[0]
    for name in names:
        part = rows[rows[series] == name].drop_duplicates("year")
        colour = colours.get(name, COLOURS[0])
        by_year = dict(zip(part["year"].astype(int), part["value"]))
        for run in _segments(sorted(by_year)):
            if len(run) > 1:
                ax.plot(run, [by_year[y] for y in run], color=colour, linewidth=1.5, alpha=0.8)
        for r in part.itertuples():
            ax.plot(
                [r.year],
                [r.value],
                color=colour,
                markersize=8,
                linestyle="",
                **MARKERS.get(r.status, MARKERS["reported"]),
            )
    years = sorted(set(rows["year"].astype(int)))
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
    ax.set_ylim(0, max(rows["value"].max(), 1) * 1.18)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.yaxis.set_major_formatter(lambda v, _: labels.fmt_number(v, lang))
    ax.set_ylabel(labels.quantity_label(unit, lang))
    ax.set_xlabel(labels.text("columns", "year", lang))
    _title(fig, title or labels.indicator_name(indicator, lang))
    handles = [Line2D([], [], color=colours.get(n, COLOURS[0]), linewidth=2, label=str(n)) for n in names]
    _legend_below(fig, handles + _status_handles(list(rows["status"].unique()), lang))
    if label_points:
        renderer = _freeze(fig)
        taken = [t.get_window_extent(renderer) for t in _drawn_texts(fig) if t.get_visible() and t.get_text()]
        taken += [line.get_window_extent(renderer) for line in ax.get_lines() if len(line.get_xdata()) == 1]
        for r in rows.itertuples():
            _place(
                ax,
                labels.fmt_number(r.value, lang, labels.decimals_for(r.value, unit)),
                (r.year, r.value),
                renderer,
                taken,
                POINT_OFFSETS,
                color=colours.get(getattr(r, series), COLOURS[0]),
            )
    return fig


def check_stackable(indicators: list[str]) -> None:
    """Parts are stacked only when the catalogue declares them disjoint classes of one whole."""
    groups = reference.catalogue().reindex(indicators)["stack_group"].fillna("")
    if len(indicators) > 1 and (groups.eq("").any() or groups.nunique() != 1):
        raise KpiError(
            f"cannot stack {', '.join(indicators)}: they are not declared disjoint classes of one total "
            "(column stack_group of indicators.csv); nested classes would be counted twice"
        )


@_styled
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
    fig, ax = _new_figure(0.32 * max(len(cats) * per_cat, 3) + 1.6)
    height = 0.8 / per_cat
    left = pd.Series(0.0, index=cats)
    drawn = []
    for i, indicator in enumerate(indicators):
        part = table[table["indicator"] == indicator].drop_duplicates(category).set_index(category).reindex(cats)
        offsets = [c + (0 if stacked else (i - (per_cat - 1) / 2) * height) for c in range(len(cats))]
        values = part["value"].fillna(0).astype(float)
        bar = ax.barh(
            offsets,
            values,
            height=height,
            left=left.values if stacked else None,
            color=COLOURS[i % len(COLOURS)],
            edgecolor="white" if stacked else None,
            linewidth=0.8,
        )
        for patch, status in zip(bar, part["status"]):
            hatch = HATCHES.get(status, "") if isinstance(status, str) else ""
            if hatch:
                patch.set_hatch(hatch)
                patch.set_edgecolor("#ffffff")
        drawn.append((bar, values, part["status"], left.copy()))
        if stacked:
            left = left + values.values
    ax.set_yticks(range(len(cats)), cats)
    ax.invert_yaxis()
    top = (left.max() if stacked else table.loc[table["indicator"].isin(indicators), "value"].max()) or 1
    ax.set_xlim(0, top * 1.25)
    ax.xaxis.set_major_formatter(lambda v, _: labels.fmt_number(v, lang))
    ax.set_xlabel(labels.quantity_label(unit, lang))
    _title(fig, title)
    names = series_names or {i: labels.indicator_name(i, lang) for i in indicators}
    handles = (
        [Patch(facecolor=COLOURS[i % len(COLOURS)], label=names.get(ind, ind)) for i, ind in enumerate(indicators)]
        if len(indicators) > 1
        else []
    )
    statuses = [s for s in HATCHES if s != "reported" and s in set(table["status"].dropna())]
    handles += [
        Patch(
            facecolor="#888888", edgecolor="#ffffff", hatch=HATCHES[s], label=labels.status_label(s, lang, short=True)
        )
        for s in statuses
    ]
    _legend_below(fig, handles, ncols=1 if any(len(h.get_label()) > 40 for h in handles) else None)
    _bar_labels(fig, ax, drawn, unit, lang, stacked, left, cats)
    return fig


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
    renderer = _freeze(fig)
    if stacked:
        ends = [(totals[cat], labels.fmt_value(totals[cat], unit, lang)) for cat in cats if totals[cat]]
    else:
        ends = [
            (v, labels.fmt_value(v, unit, lang, s if isinstance(s, str) else None))
            for _bar, values, statuses, _left in drawn
            for v, s in zip(values, statuses)
            if v
        ]
    _make_room(ax, renderer, ends)
    taken = [t.get_window_extent(renderer) for t in _drawn_texts(fig) if t.get_visible() and t.get_text()]
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
                    fontsize=LABEL_SIZE,
                    color="white",
                    fontweight="bold",
                )
                box = label.get_window_extent(renderer)
                if box.width + 4 > seg.width or box.height > seg.height:
                    label.remove()
            else:
                _place(
                    ax,
                    labels.fmt_value(value, unit, lang, status if isinstance(status, str) else None),
                    (value, y),
                    renderer,
                    taken,
                    [(END_LABEL_GAP_PT, 0, "left", "center")],
                )
    if stacked:
        for i, cat in enumerate(cats):
            if totals[cat]:
                _place(
                    ax,
                    labels.fmt_value(totals[cat], unit, lang),
                    (totals[cat], i),
                    renderer,
                    taken,
                    [(END_LABEL_GAP_PT, 0, "left", "center")],
                )


END_LABEL_GAP_PT = 3  # between a bar's end and its value


def _make_room(ax: plt.Axes, renderer, ends: list[tuple[float, str]]) -> None:
    """Widen the value axis until the label after every bar fits inside the axes (the longest bar's too)."""
    width_px = ax.get_window_extent(renderer).width
    gap_px = renderer.points_to_pixels(END_LABEL_GAP_PT + 2)
    needed = ax.get_xlim()[1]
    for value, text in ends:
        probe = ax.text(0, 0, text, fontsize=LABEL_SIZE)
        label_px = probe.get_window_extent(renderer).width * 1.05
        probe.remove()
        room = width_px - gap_px - label_px
        if room > 0:
            needed = max(needed, value * width_px / room)
    ax.set_xlim(0, needed)
    ax.figure.draw_without_rendering()  # the ticks of the new range; the layout stays frozen


def _drawn_texts(fig: Figure) -> list[Text]:
    """Every text drawn: tick labels only of ticks inside the view (matplotlib keeps the others, undrawn)."""
    ticks = set()
    drawn = []
    for ax in fig.axes:
        for axis, (low, high) in ((ax.xaxis, sorted(ax.get_xlim())), (ax.yaxis, sorted(ax.get_ylim()))):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks.update({id(tick.label1), id(tick.label2)})
                if low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    drawn += [tick.label1, tick.label2]
    return drawn + [t for t in fig.findobj(Text) if id(t) not in ticks]


def overlaps(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of visible texts of a drawn figure whose boxes intersect (labels, ticks, titles, legend).

    Measured from matplotlib's own text extents, so a test can fail on a collision the eye
    might miss.  A text that comes closer to the figure's edge than ``EDGE_MARGIN_PX`` counts as
    a collision with the edge: drawn at another resolution (print, SVG in a browser) its width
    differs by a few per cent, and a text touching the edge is then cut.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in _drawn_texts(fig) if t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    found = []
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        inter_w = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        inter_h = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if inter_w > 1 and inter_h > 1:
            found.append((a, b))
    width, height = fig.bbox.width, fig.bbox.height
    found += [
        (a, "<figure edge>")
        for a, box in boxes
        if box.x0 < EDGE_MARGIN_PX
        or box.y0 < EDGE_MARGIN_PX
        or box.x1 > width - EDGE_MARGIN_PX
        or box.y1 > height - EDGE_MARGIN_PX
    ]
    return found
