"""The reports' HTML exporter (``kpi.htmlexport``): nbconvert's page, without its last pass where
that pass only writes the same document out again."""

import re

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter

from kpi import htmlexport
from kpi.render import without_remote_resources

SVG = "data:image/svg+xml;base64," + "PHN2Zz48L3N2Zz4=" * 50
KPI_OUTPUT = (  # what kpi's own outputs hold: tables, quoted and escaped text, charts with alt text
    '<table class="kpi-table"><tr><th>Chỉ tiêu</th><td class="num">1.947,5</td></tr></table>'
    f'<figure><img src="{SVG}" alt="Diện tích chè &quot;búp tươi&quot; &amp; sản lượng" width="640"><br/>'
    "<p>Nguồn: Báo cáo số 12/BC-UBND, tr. 3 &ndash; “trích” 'một' phần</p></figure>"
)


def notebook(markdown: str, html: str = KPI_OUTPUT) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("ctx.trend()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "<chart>"})]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown), cell])


def both(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """(the page as nbconvert's HTMLExporter writes it, as the reports' exporter does)"""
    ours = htmlexport.exporter()
    reference = HTMLExporter(config=ours.config, template_name="basic")
    resources = lambda: {"metadata": {"path": "."}}
    return reference.from_notebook_node(nb, resources())[0], ours.from_notebook_node(nb, resources())[0]


def test_a_report_is_the_same_document_without_the_last_pass():
    nb = notebook('# Chè — *2012–2022*\n\nSản lượng "búp tươi" tăng 6.793 tấn & hơn; [nguồn](https://x.vn/a?b=1&c=2)')
    reference, ours = both(nb)
    assert not htmlexport.soup_changes(ours)  # the quick way was taken
    assert ours != reference  # (written otherwise: the pass was indeed skipped)
    assert str(BeautifulSoup(ours, features="html.parser")) == reference  # the same document
    assert "data:image/svg+xml;base64," in ours and "Diện tích chè" in ours


def test_the_lab_templates_notebook_is_converted_with_the_last_pass():
    snippet = '<div class="jp-Notebook"><div class="jp-Cell-inputWrapper">x</div></div>'
    reference, ours = both(notebook("Chè", html=KPI_OUTPUT + snippet))
    assert htmlexport.soup_changes(snippet) and ours == reference and 'tabindex="0"' in ours


HOSTILE = [  # sources a browser would fetch from another host, written so a plain reading may miss them
    '<img src="https://cdn.invalid/a.png">',  # no alt text either: the pass gives it one
    '<img/src="//cdn.invalid/a.png" alt="">',  # attributes after a slash
    '<img alt="x"src="https://cdn.invalid/a.png">',  # an attribute right after a quote
    '<img alt="x" /src="https://cdn.invalid/b.png">',
    '<video poster="data:," alt=""/src="//cdn.invalid/v.mp4"></video>',
    '<img src="&#104;ttps://cdn.invalid/a.png" alt="">',  # an entity in the address
    '<img SRC="//cdn.invalid/a.png" alt="">',
    '<img src="data:image/png;base64,AAAA" srcset="//cdn.invalid/a.png 2x" alt="">',
    '<iframe srcdoc="&lt;img&#32;src=https://cdn.invalid/j.png&gt;"></iframe>',
    '<script src="//cdn.invalid/r.js">',  # a script left open
    "<link rel=stylesheet href=//cdn.invalid/a.css>",
]


@pytest.mark.parametrize("snippet", HOSTILE)
def test_what_the_last_pass_changes_is_converted_with_it(snippet):
    """In an output (a cell's HTML is written as it is), or in prose (the Markdown of a cell)."""
    reference, ours = both(notebook(f"Chè\n\n{snippet}\n", html=KPI_OUTPUT + snippet))
    assert htmlexport.soup_changes(KPI_OUTPUT + snippet)
    assert ours == reference  # the page as before, the pass included
    assert remote_addresses(ours) and not remote_addresses(without_remote_resources(ours))


@pytest.mark.parametrize(
    "snippet",
    [
        *HOSTILE,
        '<p style="background:url(//cdn.invalid/a.png)">x</p>',  # neither way reads styles
        '<svg><image href="//cdn.invalid/a.png"/></svg>',
        '<p>the poster: "a" &amp; src=b</p>',  # the names in prose: the quick way is cautious
    ],
)
def test_the_quick_way_lets_by_no_address_the_pass_would_have_defused(snippet):
    reference, ours = both(notebook("Chè", html=KPI_OUTPUT + snippet))
    assert remote_addresses(without_remote_resources(ours)) == remote_addresses(without_remote_resources(reference))
    assert str(BeautifulSoup(ours, features="html.parser")) == reference


def remote_addresses(page: str) -> list[str]:
    """What a browser would fetch from another host, read from the document (entities decoded)."""
    found = []
    for tag in BeautifulSoup(page, features="html.parser").find_all(True):
        for name, value in tag.attrs.items():
            if name in ("src", "srcset", "poster") or (tag.name == "link" and name == "href"):
                found += [value] if re.search(r"(?:^|\s)(?:https?:)?//", str(value), re.I) else []
            elif name == "srcdoc":  # a document of its own
                found += remote_addresses(value)
    return found
