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


@pytest.mark.parametrize(
    "snippet",
    [
        '<img src="https://cdn.invalid/a.png">',  # no alt text: the pass gives it one
        '<img/src="//cdn.invalid/a.png" alt="">',  # attributes after a slash
        '<img src="&#104;ttps://cdn.invalid/a.png" alt="">',  # an entity in the address
        '<script src="//cdn.invalid/r.js">',  # a script left open
        "<link rel=stylesheet href=//cdn.invalid/a.css>",
    ],
)
def test_what_the_last_pass_changes_is_converted_with_it(snippet):
    """In an output (a cell's HTML is written as it is), or in prose (the Markdown of a cell)."""
    assert htmlexport.soup_changes(snippet)
    reference, ours = both(notebook(f"Chè\n\n{snippet}\n", html=KPI_OUTPUT + snippet))
    assert ours == reference
    assert remote_addresses(ours) and not remote_addresses(without_remote_resources(ours))


def remote_addresses(page: str) -> list[str]:
    """What a browser would fetch from another host, read from the document (entities decoded)."""
    found = []
    for tag in BeautifulSoup(page, features="html.parser").find_all(True):
        for name, value in tag.attrs.items():
            if name in ("src", "srcset", "poster") or (tag.name == "link" and name == "href"):
                found += [value] if re.match(r"\s*(?:https?:)?//", str(value), re.I) else []
    return found
