"""nbconvert's HTML exporter as the reports use it: code hidden, one exporter per process, and its
last pass made only where it changes the page.

``HTMLExporter.from_notebook_node`` ends by parsing its whole output with BeautifulSoup to give
images without ``alt`` a placeholder text and the cells of the lab template's notebook a
``tabindex``, and then writes the document out again.  On a report that pass is nine tenths of
the conversion (0.57 of 0.65 s for the six reports of a build) and, with the basic template
and images that all have alt text, it changes nothing but how the same document is written:
quotes, entities, empty tags.  ``Exporter`` skips it unless the page has something it would
change, or anything the page's filter of remote resources (``kpi.render``) could read otherwise
once the document is written out again (``soup_changes``): then the page is converted by
``HTMLExporter`` itself, pass included, as before.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from kpi.runs import ANALYST_TAG, INJECTED_TAG, PAPERMILL_ERROR_TAG, PARAMETERS_TAG

SOUP_CHANGES = re.compile(
    r"<img\b(?![^>]*\salt\s*=)[^>]*>"  # an image without alt text: the pass gives it one
    r"|jp-Notebook"  # the lab template's notebook: the pass makes its cells focusable
    r"|<(?:script|link)\b",  # what the filter removes whole: it reads them surely once closed and quoted
    re.I,
)

# a chart or embedded image as kpi and nbconvert write one: the only source the quick way lets by
DATA_SOURCE = re.compile(r'\ssrc="data:image/(?:svg\+xml|png|jpeg|gif);base64,[A-Za-z0-9+/=]*"')

DATA_VALUE = re.compile(r'="data:[^"]*"')  # any other data URI (a download): its letters are no names

SOURCE_NAME = re.compile(r"src|poster", re.I)  # src, srcset, srcdoc, poster: anywhere, even in text


def soup_changes(html: str) -> bool:
    """Whether nbconvert's last pass could change ``html`` as a document, or make the filter of remote
    resources read an address it would miss as the page stands: anything above, or any source
    (``src``, ``srcset``, ``srcdoc``, ``poster``, in any case, after any character, in text too)
    that is not a data URI written as kpi and nbconvert write them.  Cautious: a page it flags
    only takes the slower way."""
    if SOUP_CHANGES.search(html):
        return True
    return SOURCE_NAME.search(DATA_VALUE.sub('=""', DATA_SOURCE.sub(" ", html))) is not None


@functools.lru_cache(maxsize=1)
def exporter() -> Any:
    """One HTML exporter for every page of a process (making one costs a third of a second)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    from traitlets.config import Config

    class Exporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            given = resources
            # HTMLExporter.from_notebook_node (nbconvert 7) up to its BeautifulSoup pass
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter(
                "highlight_code", self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            )
            resources = self._init_resources(resources)
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
            )
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            if soup_changes(html):
                return super().from_notebook_node(nb, given, **kw)
            return html, resources

    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {INJECTED_TAG, PAPERMILL_ERROR_TAG, ANALYST_TAG}
    c.TagRemovePreprocessor.remove_input_tags = {PARAMETERS_TAG}
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.embed_images = True  # markdown images from local files become data: URIs
    c.Exporter.optimistic_validation = True  # the notebook validated once, not after every preprocessor
    return Exporter(config=c, template_name="basic")
