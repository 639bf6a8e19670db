"""The house style of every chart, and where its labels may go.

One style (``STYLE``: DejaVu Sans, which has every Vietnamese letter; letters drawn as shapes
in SVG), one marker per status (● reported, ○ derived, ◇ estimate, ▲ lower bound, ▼ upper
bound, ■ preliminary) and one hatch per status for bars, the same in chart and legend.
Figures live outside pyplot (``KpiFigure``), so Jupyter shows each once.  Labels are placed
where they collide with nothing (``place``), on a layout frozen first (``freeze``), with the
value axis widened for the labels after the bars (``make_room``); ``overlaps`` measures
collisions on a drawn figure, for the tests.
"""

from __future__ import annotations

import functools
import itertools
import textwrap

import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from kpi import labels
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


def styled(function):
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


def new_figure(height: float) -> tuple[Figure, plt.Axes]:
    """A figure outside pyplot's list: Jupyter shows it once, as the cell's value, never again by itself."""
    fig = KpiFigure(figsize=(WIDTH_IN, height), layout="constrained")
    # room at the edges: text is measured at one resolution and drawn at others (SVG, print, a screen), where
    # its width differs by a few per cent; without it, a long category name touching the edge is cut
    fig.get_layout_engine().set(w_pad=EDGE_PAD_IN, h_pad=EDGE_PAD_IN / 2)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def title(fig: Figure, title: str) -> None:
    """The chart's title at the figure's left edge (not the axes': long category names push those right)."""
    if title:
        fig.suptitle(textwrap.fill(title, TITLE_CHARS), x=0.01, ha="left", fontsize=12, fontweight="bold")


def status_handles(statuses: list[str], lang: str) -> list[Line2D]:
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


def legend_below(fig: Figure, handles: list, ncols: int | None = None) -> None:
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=ncols or min(len(handles), 3), fontsize=8)


def freeze(fig: Figure) -> object:
    """Lay the figure out once, then keep it: value labels are placed against the final axes."""
    fig.draw_without_rendering()  # layout and text sizes, no pixels
    # no engine at all, not "none": matplotlib keeps a placeholder for "none", and any engine makes
    # savefig draw the figure twice (once to lay it out), which is a third of an SVG's time
    with plt.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)  # (None would otherwise mean the rc file's engine)
    return fig.canvas.get_renderer()


def place(ax: plt.Axes, text: str, xy: tuple[float, float], renderer, taken: list, offsets, **kw) -> Text | None:
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


def natural(name: object) -> tuple:
    """``[2] …`` before ``[10] …``: legends in the order of the reference numbers."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(name)))


def segments(years: list[int]) -> list[list[int]]:
    """Runs of consecutive years: a line joins only these (never across a year without data)."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return runs


END_LABEL_GAP_PT = 3  # between a bar's end and its value


def make_room(ax: plt.Axes, renderer, ends: list[tuple[float, str]]) -> None:
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
    # the ticks of the new range (the layout stays frozen): only the value axis's ticks are
    # recomputed, which a whole draw would also do, at a fifth of its cost
    ax.xaxis._update_ticks()


def drawn_texts(fig: Figure) -> list[Text]:
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
    texts = [t for t in drawn_texts(fig) if t.get_visible() and t.get_text().strip()]
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
