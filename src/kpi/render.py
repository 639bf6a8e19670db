"""Executed notebook → one offline HTML page; the navigation between pages; the index.

A page works by itself, e-mailed: inline CSS (``report.css``), images as data URIs, no
script and nothing from another host.  Its file name and ``<title>`` say theme, area,
period and language (``03-che_huyen-tam-duong_2012-2022_vi.html``), since attachments are
told apart by name.  Each page links the index, the other reports of its set and its
other-language edition; that navigation sits between two markers so a later build can
refresh it when the other edition appears (``refresh_nav``).  Cells tagged
``analyst-note`` are prose for the analyst in Jupyter and are left out of the page.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from kpi import htmlexport, labels
from kpi.text import fold

if TYPE_CHECKING:
    import nbformat

NAV_START, NAV_END = "<!--kpi-nav-->", "<!--/kpi-nav-->"
INDEX_FILE = "index.html"


def t(key: str, lang: str, **values: object) -> str:
    return labels.text("page", key, lang, **values)


@functools.lru_cache(maxsize=1)
def css() -> str:
    return Path(__file__).with_name("report.css").read_text(encoding="utf-8")


def slug(text: str) -> str:
    """ASCII words joined by hyphens, for file names: ``Huyện Tam Đường`` → ``huyen-tam-duong``."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-") or "x"


def notebook_theme(path: Path) -> str:
    """The theme a notebook reports on (``metadata.kpi.theme``), or "" for a notebook without one."""
    theme = notebook_meta(path).get("theme", "")
    return theme if isinstance(theme, str) and labels.has_text("themes", theme) else ""


def notebook_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("kpi", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return meta if isinstance(meta, dict) else {}


def is_report(path: Path) -> bool:
    """A notebook is rendered as a report unless its metadata says ``"kpi": {"report": false}`` (00_explore)."""
    return notebook_meta(path).get("report", True) is not False


def file_name(notebook: Path, theme: str, area_name: str, baseline: int, target: int, lang: str) -> str:
    """``03-che_huyen-tam-duong_2012-2022_vi.html``: theme, area, period and language in the name."""
    number = re.match(r"^(\d+)[_-]", notebook.stem)
    head = (
        (f"{number.group(1)}-" if number else "") + labels.text("theme_slugs", theme, lang) if theme else notebook.stem
    )
    area_slug = slug(area_name)
    return f"{head}_{area_slug}_{baseline}-{target}_{lang}.html"


def title(theme: str, fallback: str, area_name: str, baseline: int, target: int, lang: str) -> str:
    """``Cây chè — Huyện Tam Đường, 2012–2022``: the report's title in its language."""
    what = labels.text("themes", theme, lang) if theme else fallback
    return f"{what} — {area_name}, {baseline}–{target}"


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first markdown heading, else the file stem.

    >>> import nbformat
    >>> title_of(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Intro\\n\\n## Chè · Tea ##")]), "x")
    'Chè · Tea'
    >>> title_of(nbformat.v4.new_notebook(), "tea")
    'tea'
    """
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", cell.source, flags=re.M)
            if match:
                return re.sub(r"[*_`]", "", match.group(1)).strip()
    return fallback


@dataclass(frozen=True)
class PageRef:
    """A page of a set of reports, for the navigation: its theme's title and its path."""

    label: str
    path: Path


def href(target: Path, page: Path) -> str:
    return html.escape(quote(os.path.relpath(target, page.parent).replace(os.sep, "/")))


def nav_html(page: Path, index: Path, siblings: list[PageRef], other: Path | None, lang: str) -> str:
    """Links from one page: the index, its other-language edition (when on disk), the reports of its set."""
    other_lang = "en" if lang == "vi" else "vi"
    links = [f'<a href="{href(index, page)}">← {html.escape(t("back", lang))}</a>']
    if other is not None and other.is_file():
        links.append(
            f'<a href="{href(other, page)}" hreflang="{other_lang}" lang="{other_lang}">'
            f"{html.escape(t('other_edition', lang))}</a>"
        )
    items = "".join(
        f'<a href="{href(s.path, page)}"'
        + (' aria-current="page"' if s.path == page else "")
        + f">{html.escape(s.label)}</a>"
        for s in siblings
    )
    set_ = (
        f'<span class="kpi-siblings">{html.escape(t("in_this_set", lang))}: {items}</span>' if len(siblings) > 1 else ""
    )
    return (
        f'{NAV_START}<nav class="kpi-nav" aria-label="{html.escape(t("in_this_set", lang))}">'
        f"{''.join(links)}{set_}</nav>{NAV_END}"
    )


def refresh_nav(page: Path, nav: str) -> bool:
    """Replace a page's navigation (the other edition may have appeared since); False if unchanged."""
    from kpi.write import atomic_write_text

    text = page.read_text(encoding="utf-8")
    start, end = text.find(NAV_START), text.find(NAV_END)
    if start < 0 or end < 0:
        return False
    new = text[:start] + nav + text[end + len(NAV_END) :]
    if new != text:
        atomic_write_text(page, new)
    return new != text


def body_html(nb: nbformat.NotebookNode, resources_path: Path) -> str:
    """The notebook as an HTML fragment: code hidden, papermill's and the analyst's cells removed.

    The "basic" template is used because "lab" and "classic" load require.js and MathJax
    from CDNs; the page around it brings its own CSS.
    """
    with _EXPORTING:  # one exporter, shared by the threads of a build: it keeps state while it converts
        html = htmlexport.exporter().from_notebook_node(nb, resources={"metadata": {"path": str(resources_path)}})[0]
    return without_remote_resources(html)


_EXPORTING = threading.Lock()


def warm_up() -> None:
    """Make the exporter and convert a notebook of one cell: its templates and selectors are compiled
    (0.6 s, once per process) while the first kernel is at work, not after it."""
    import nbformat

    body_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("·")]), Path("."))


def without_remote_resources(fragment: str) -> str:
    """Remove what would make a browser contact another host: remote scripts, stylesheets, sources.

    Links the reader clicks (``<a href=…>``) are kept: they request nothing by themselves.

    >>> without_remote_resources('<script src="https://cdn.x/r.js"></script><p>a</p>')
    '<p>a</p>'
    >>> without_remote_resources('<link rel="stylesheet" href="//cdn.x/a.css"><img src="http://x/a.png">')
    '<img data-remote-src="http://x/a.png">'
    """
    fragment = re.sub(r"<script\b[^>]*\bsrc\s*=[^>]*>.*?</script\s*>", "", fragment, flags=re.I | re.S)
    fragment = re.sub(r"<link\b[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//[^>]*>", "", fragment, flags=re.I)
    return re.sub(
        r"\s(src|srcset|poster)\s*=\s*([\"']?)((?:https?:)?//)", r" data-remote-\1=\2\3", fragment, flags=re.I
    )


def params_html(parameters: dict, header: dict) -> str:
    """The period, area, data version and build time of a page, in its language."""
    lang = parameters["lang"]
    rows = [
        ("period", f"{parameters['baseline_year']}–{parameters['target_year']}"),
        ("area", f"{header['area_name']} ({parameters['area_code']})"),
        ("lang", t(lang, lang)),
        ("data_version", header["data_version"]),
        ("built_at", header["built_at"]),
    ]
    items = "".join(f"<div><dt>{html.escape(t(k, lang))}</dt><dd>{html.escape(str(v))}</dd></div>" for k, v in rows)
    return f'<dl class="kpi-params">{items}</dl>'


def failure_html(failure: object, lang: str) -> str:
    where = t("cell", lang, n=failure.cell) if failure.cell is not None else t("before_cells", lang)
    return (
        f'<p class="kpi-failed" role="alert"><strong>{html.escape(t("failed_banner", lang))}</strong> '
        f"({html.escape(where)}): <code>{html.escape(str(failure))}</code></p>"
    )


SUBTITLE = re.compile(r'(<p class="kpi-subtitle">.*?</p>)', re.S)


def page(
    nb: nbformat.NotebookNode,
    resources: Path,
    page_title: str,
    parameters: dict,
    header: dict,
    nav: str,
    failure: object | None,
) -> str:
    """The whole page: navigation, the report (its title first), the edition box under the title."""
    lang = parameters["lang"]
    body = body_html(nb, resources)
    box = params_html(parameters, header) + (failure_html(failure, lang) if failure else "")
    if SUBTITLE.search(body):
        body = SUBTITLE.sub(lambda m: m.group(1) + box, body, count=1)
    else:  # the notebook stopped before its heading, or has none
        body = f"<h1>{html.escape(page_title)}</h1>{box}{body}"
    return html_document(lang, f"{page_title} · {t(lang, lang)}", f'{nav}<article class="kpi-report">{body}</article>')


def html_document(lang: str, page_title: str, main: str) -> str:
    """A complete page that works offline: inline CSS, no script, and an empty icon so no favicon request."""
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{html.escape(page_title)}</title>\n<style>{css()}</style>\n</head>\n"
        f"<body>\n<main>\n{main}\n</main>\n</body>\n</html>\n"
    )


def index_html(state: dict, lang: str, reports_dir: Path) -> str:
    """Every report on disk, grouped by area and period (newest first), one column per language.

    A report left as it was ("unchanged since …") reads as a plain fact, not as a warning;
    only a failure is marked as one.
    """
    groups: dict[tuple[str, int, int], dict[str, dict]] = {}
    for run in state["runs"].values():
        p = run["parameters"]
        groups.setdefault((p["area_code"], p["target_year"], p["baseline_year"]), {})[p["lang"]] = run
    page_title = t("index_title", lang)
    parts = [f"<h1>{html.escape(page_title)}</h1>"]
    areas = sorted({a for a, _, _ in groups}, key=lambda a: (len(a), a))  # the district (short code) first
    for area in areas:
        periods = sorted(((tg, bs) for a, tg, bs in groups if a == area), reverse=True)
        newest = groups[(area, *periods[0])].get(lang, {})
        name = newest.get("area_name") or labels.area_name(area, periods[0][0], lang)  # as its reports name it
        parts.append(f"<section><h2>{html.escape(name)} ({html.escape(area)})</h2>")
        for target, baseline in periods:
            parts.append(_period_table(groups[(area, target, baseline)], baseline, target, lang, reports_dir))
        parts.append("</section>")
    return html_document(lang, page_title, f'<div class="kpi-index">{"".join(parts)}</div>')


def _period_table(editions: dict[str, dict], baseline: int, target: int, lang: str, reports_dir: Path) -> str:
    langs = [code for code in labels.LANGS if code in editions]
    names = sorted({n for run in editions.values() for n in run["notebooks"]})
    head = f'<th scope="col">{html.escape(t("report", lang))}</th>' + "".join(
        f'<th scope="col">{html.escape(t(code, lang))}</th>' for code in langs
    )
    rows = []
    for name in names:
        entries = {code: editions[code]["notebooks"].get(name) for code in langs}
        first = next(e for e in entries.values() if e)
        theme = first.get("theme", "")
        label = labels.text("themes", theme, lang) if theme else (first.get("title") or Path(name).stem).split(" — ")[0]
        cells = "".join(f"<td>{_edition_cell(entries[code], lang, reports_dir)}</td>" for code in langs)
        rows.append(f'<tr><th scope="row">{html.escape(label)}</th>{cells}</tr>')
    built = " · ".join(
        f"{t(code, lang)}: {html.escape(t('data_version', lang))} {html.escape(editions[code].get('data_version', ''))}"
        for code in langs
    )
    return (
        f"<h3>{html.escape(t('period', lang))} {baseline}–{target}</h3>"
        f'<table class="kpi-index-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f'<p class="muted">{built}</p>'
    )


def _edition_cell(entry: dict | None, lang: str, reports_dir: Path) -> str:
    if not entry:
        return "–"
    status = entry["status"]
    when = html.escape(entry.get("built_at", "")[:16])
    link = (
        f'<a href="{html.escape(quote(entry["html"]))}">{html.escape(entry.get("title") or entry["html"])}</a>'
        if entry.get("html")
        else ""
    )
    chip = f'<span class="status status-{status}">{html.escape(t(status, lang, when=when))}</span>'
    if status != "failed":
        return f"{link}<br>{chip}"
    where = t("cell", lang, n=entry["error_cell"]) if entry.get("error_cell") is not None else t("before_cells", lang)
    executed = (
        f' · <a href="{html.escape(quote(entry["executed"]))}">{html.escape(t("notebook", lang))}</a>'
        if entry.get("executed")
        else ""
    )
    return f"{link}<br>{chip} {html.escape(where)}: <code>{html.escape(entry.get('error') or '')}</code>{executed}"


def counterpart(key: str) -> str:
    """The run of the other language with the same area and period: ``vi/106/2012-2022`` → ``en/…``."""
    lang, rest = key.split("/", 1)
    return f"{'en' if lang == 'vi' else 'vi'}/{rest}"


def nav_of(state: dict, key: str, name: str, page: Path, siblings: list[PageRef], reports_dir: Path) -> str:
    other = state["runs"].get(counterpart(key), {}).get("notebooks", {}).get(name, {})
    other_path = reports_dir / other["html"] if other.get("html") else None
    return nav_html(page, reports_dir / INDEX_FILE, siblings, other_path, key.split("/", 1)[0])


def sibling_refs(entries: dict[str, dict], reports_dir: Path, lang: str) -> list[PageRef]:
    return [
        PageRef(labels.text("themes", e["theme"], lang) if e.get("theme") else Path(name).stem, reports_dir / e["html"])
        for name, e in sorted(entries.items())
        if e.get("html")
    ]


def refresh_navs(state: dict, runs: list) -> None:
    """Re-link the pages of this build's runs and of their other-language editions (which may be new)."""
    if not runs:
        return
    reports_dir = runs[0].reports_dir
    keys = dict.fromkeys(k for run in runs for k in (run.key, counterpart(run.key)))
    for key in keys:
        entries = state["runs"].get(key, {}).get("notebooks", {})
        siblings = sibling_refs(entries, reports_dir, key.split("/", 1)[0])
        for name, entry in entries.items():
            page = reports_dir / entry["html"] if entry.get("html") else None
            if page is not None and page.is_file():
                refresh_nav(page, nav_of(state, key, name, page, siblings, reports_dir))
