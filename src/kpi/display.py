"""The display layer: views (tables, charts, key figures) as HTML, shown in Jupyter and in reports.

Everything a report shows goes through here, so a table looks the same in JupyterLab and
in the rendered HTML: numbers right-aligned, note letters beside figures with the notes
under the table, reference numbers linked to the source list, charts as SVG with alt
text.  ``show`` displays one HTML block (one call, one output).
"""

from __future__ import annotations

import base64
import html
import io
import re

from kpi import labels
from kpi.cite import References
from kpi.views import Chart, Scope, Table

REF = re.compile(r"\[(\d+)\]")


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def show(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


def _cell(text: object) -> str:
    """A table cell's text: reference numbers link to the source list, the place after them is muted."""
    escaped = esc(text).replace("\n", "<br>")
    if not REF.search(escaped):
        return escaped
    linked = REF.sub(lambda m: f'<a class="kpi-ref" href="#ref-{m.group(1)}">[{m.group(1)}]</a>', escaped)
    return re.sub(r"(</a>) ([^<|]+)", r'\1 <span class="kpi-place">\2</span>', linked)


def table_html(table: Table, extra: str = "", show_title: bool = True) -> str:
    """A table with its title, caption, notes and the line on rows left out; ``extra`` goes under it.

    ``show_title`` False leaves the title out (the section heading right above says the same)."""
    title = f'<h3 class="kpi-table-title">{esc(table.title)}</h3>' if table.title and show_title else ""
    if table.is_empty:
        return f'<section class="kpi-block">{title}<p class="kpi-empty">{esc(table.empty)}</p></section>'
    columns = list(table.shown.columns)
    head = "".join(f'<th scope="col"{" class=num" if c in table.numeric else ""}>{esc(c)}</th>' for c in columns)
    body = []
    for i, row in enumerate(table.shown.itertuples(index=False)):
        cells = []
        for column, value in zip(columns, row):
            mark = table.marks.get((i, column))
            sup = f'<sup class="kpi-mark">{esc(mark)}</sup>' if mark else ""
            cls = ' class="num"' if column in table.numeric else ""
            cells.append(f'<td{cls} data-label="{esc(column)}"><span>{_cell(value)}{sup}</span></td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f'<p class="kpi-caption">{esc(table.caption)}</p>' if table.caption else ""
    notes = "".join(f'<li><sup class="kpi-mark">{esc(k)}</sup> {esc(t)}</li>' for k, t in table.notes)
    notes = f'<ul class="kpi-notes">{notes}</ul>' if notes else ""
    more = f'<p class="kpi-more">{esc(table.more)}</p>' if table.more else ""
    return (
        f'<section class="kpi-block">{title}{caption}<div class="kpi-scroll"><table class="kpi-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{notes}{more}{extra}</section>"
    )


def figure_svg(figure) -> bytes:
    """The figure as SVG (text kept as text; no date and ids from a fixed salt, not random ones, so the same
    chart gives the same bytes and a rebuilt report is the same file)."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "kpi"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def chart_html(chart: Chart, extra: str = "", number: int = 1, scope: Scope | None = None) -> str:
    """A chart as an SVG image with alt text, the notes of what it draws, and ``extra`` (the download) under it.

    On a phone the chart fits the screen; a tap on it (a link to itself, ``:target``) shows it at
    full size in a sideways scroller, and another tap goes back -- no script, no second image.
    """
    svg = figure_svg(chart.figure)
    width, height = (round(v * 96) for v in chart.figure.get_size_inches())
    src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    anchor = f"chart-{number}"
    notes = "".join(f'<li><sup class="kpi-mark">{esc(k)}</sup> {esc(t)}</li>' for k, t in chart.notes)
    notes = f'<ul class="kpi-notes">{notes}</ul>' if notes else ""
    hint = f'<p class="kpi-zoom-hint">{esc(scope.t("text", "zoom_hint"))}</p>' if scope else ""
    return (
        f'<figure class="kpi-chart" id="{anchor}"><div class="kpi-chart-scroll"><a class="kpi-zoom" href="#{anchor}">'
        f'<img src="{src}" alt="{esc(chart.alt)}" width="{width}" height="{height}"></a>'
        f'<a class="kpi-unzoom" href="#_">×</a></div>{hint}{notes}{extra}</figure>'
    )


def heading_html(title: str, subtitle: str, lead: str = "") -> str:
    lead = f'<p class="kpi-lead">{esc(lead)}</p>' if lead else ""
    return f'<h1 class="kpi-title">{esc(title)}</h1><p class="kpi-subtitle">{esc(subtitle)}</p>{lead}'


def section_html(title: str, intro: str = "") -> str:
    intro = f'<p class="kpi-intro">{esc(intro)}</p>' if intro else ""
    return f"<h2>{esc(title)}</h2>{intro}"


def key_figures_html(theme_title: str, figures: list, lead: str, empty: str) -> str:
    """One theme's key figures as cards, and its sentence."""
    if not figures:
        return f'<section class="kpi-theme"><h3>{esc(theme_title)}</h3><p class="kpi-empty">{esc(empty)}</p></section>'
    cards = "".join(
        f'<div class="kpi-card"><p class="kpi-card-name">{esc(f.name)}</p>'
        f'<p class="kpi-card-value">{esc(f.value)}</p>'
        f'<p class="kpi-card-detail">{esc(f.year)} · {esc(f.change)}</p></div>'
        for f in figures
    )
    return (
        f'<section class="kpi-theme"><h3>{esc(theme_title)}</h3><p class="kpi-sentence">{esc(lead)}</p>'
        f'<div class="kpi-cards">{cards}</div></section>'
    )


def references_html(refs: References, scope: Scope) -> str:
    """The numbered sources; nothing when the report cites none (a report without figures)."""
    items = []
    for number, doc, place in refs.entries():
        link = f' <a href="{esc(doc.url)}" rel="noreferrer">{esc(doc.url)}</a>' if doc.url else ""
        detail = f' <span class="kpi-place">({esc(place)})</span>' if place else ""
        items.append(f'<li id="ref-{number}" value="{number}">{esc(doc.text)}{link}{detail}</li>')
    if not items:
        return ""
    return section_html(scope.t("sections", "references")) + f'<ol class="kpi-references">{"".join(items)}</ol>'


def definitions_html(indicators: list[str], scope: Scope) -> str:
    """The definitions of what the report shows, in the catalogue's order (theme by theme)."""
    from kpi import reference

    if not indicators:
        return ""
    order = {ind: n for n, ind in enumerate(reference.catalogue().index)}
    indicators = sorted(indicators, key=lambda i: order.get(i, len(order)))
    rows = "".join(
        f"<dt>{esc(labels.indicator_name(i, scope.lang))}</dt><dd>{esc(labels.definition(i, scope.lang))}"
        f' <span class="kpi-place">({esc(labels.unit_label(_unit(i), scope.lang))})</span></dd>'
        for i in indicators
    )
    return section_html(scope.t("sections", "definitions")) + f'<dl class="kpi-definitions">{rows}</dl>'


def _unit(indicator: str) -> str:
    from kpi import reference

    cat = reference.catalogue()
    return cat.loc[indicator, "unit"] if indicator in cat.index else ""


def method_html(scope: Scope) -> str:
    keys = ("period", "baseline", "ratios", "priority", "statuses")
    items = "".join(f"<li>{esc(scope.t('method', k, baseline=scope.baseline, target=scope.target))}</li>" for k in keys)
    return section_html(scope.t("sections", "method")) + f'<ul class="kpi-method">{items}</ul>'


def symbol_rows(scope: Scope) -> list[tuple[str, str]]:
    """(symbol, meaning) of every sign a report uses: the page's table and the workbook's notes."""
    lang = scope.lang
    rows = [("–", scope.t("symbols", "dash"))]
    for status in ("estimate", "lower_bound", "upper_bound", "preliminary"):
        rows.append((labels.text("value_prefix", status, lang).strip() + " …", scope.t("symbols", status)))
    return rows + [("a, b", scope.t("symbols", "note")), ("[1] 02_Che!D7", scope.t("symbols", "reference"))]


def symbols_html(scope: Scope) -> str:
    rows = symbol_rows(scope)
    mark, meaning = esc(scope.col("marker")), esc(scope.col("meaning"))
    body = "".join(
        f'<tr><td data-label="{mark}"><code>{esc(s)}</code></td><td data-label="{meaning}">{esc(m)}</td></tr>'
        for s, m in rows
    )
    head = f"<tr><th scope=col>{esc(scope.col('marker'))}</th><th scope=col>{esc(scope.col('meaning'))}</th></tr>"
    return (
        section_html(scope.t("sections", "symbols"))
        + f'<table class="kpi-table kpi-symbols"><thead>{head}</thead><tbody>{body}</tbody></table>'
        f'<p class="kpi-intro">{esc(scope.t("symbols", "markers"))}</p>'
    )


def about_html(scope: Scope, data_version: str) -> str:
    """Series, issuer (``data/reference/publication.csv``: an office puts its own name there) and edition."""
    from kpi import __version__

    pub = labels.publication(scope.lang)
    lines = [
        scope.t("about", "series", series=pub["series"]),
        scope.t("about", "issuer", publisher=pub["publisher"]),
        scope.t("about", "edition", version=data_version, kpi=__version__),
        scope.t("about", "reuse"),
    ]
    return section_html(scope.t("sections", "about")) + "".join(f'<p class="kpi-intro">{esc(x)}</p>' for x in lines)
