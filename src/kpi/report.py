"""What the notebooks call: ``start`` checks parameters and loads data; each method shows one block.

Notebooks stay thin (parameters, one call per section).  The work is in ``kpi.views``
(labelled tables, pure) and ``kpi.story`` (key figures and sentences); ``kpi.display``
turns them into HTML.  Every method shows its block once and returns None, so a call as a
cell's last line never shows twice.  Only the chosen period is shown; every figure names
its source by number, and the report ends (``end``) with the notes, definitions, method,
symbols and the numbered source list.

    ctx = start(2012, 2022, "106", "vi", None)
    ctx.heading("tea")
    ctx.story("tea")
    ...
    ctx.end()
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pandas as pd

from kpi import (
    api,
    audit,
    charts,
    display,
    downloads,
    editions,
    figures,
    labels,
    params,
    reads,
    reference,
    reorg,
    story,
    views,
)
from kpi.changes import compare
from kpi.cite import References
from kpi.render import slug
from kpi.schema import CHANGES
from kpi.sources import pick
from kpi.views import Chart, Scope, Table

THEMES = ("crops", "tea", "livestock", "fish", "initiatives")  # the overview's order


@dataclass
class Context:
    """Parameters, data and the references of one report run."""

    p: params.Parameters
    obs: pd.DataFrame  # every source, every year (the era of the target year)
    priority: dict[str, int]
    sources: pd.DataFrame
    data_version: str = ""
    scope: Scope = field(init=False)
    refs: References = field(init=False)
    best: pd.DataFrame = field(init=False)  # chosen source, the period only
    period: pd.DataFrame = field(init=False)  # every source, the period only
    shown: list[Table | Chart] = field(default_factory=list, init=False)
    indicators_shown: list[str] = field(default_factory=list, init=False)
    note_of: dict = field(init=False)  # (source, place) → note: finds the web page a value came from
    theme: str = field(default="", init=False)  # set by ``heading``: names the downloads
    section_title: str = field(default="", init=False)  # the heading tables stand under (not repeated over them)
    said_empty: str = field(default="", init=False)  # the "no data" line just shown: not shown twice in a row
    changes: pd.DataFrame | None = field(default=None, init=False)  # the area's changes, once asked for

    def __post_init__(self) -> None:
        self.scope = Scope(self.p.baseline_year, self.p.target_year, self.p.area_code, self.p.lang)
        self.note_of = audit.notes_by_ref(self.obs)
        self.refs = References(self.sources, self.p.lang, self.note_of)
        self.period = views.in_period(self.obs, self.scope)
        self.best = pick(self.period, self.priority)

    @property
    def lang(self) -> str:
        return self.p.lang

    def t(self, group: str, key: str, **values: object) -> str:
        return labels.text(group, key, self.lang, **values)

    # --- page structure ---------------------------------------------------------------
    def heading(self, theme: str) -> None:
        """The report's title in its language: theme, area, period."""
        s = self.scope
        self.theme = theme
        subtitle = f"{s.area_name()} · {s.baseline}–{s.target}"
        display.show(display.heading_html(self.t("themes", theme), subtitle))

    def section(self, key: str) -> None:
        """A heading and one paragraph saying what the section shows (both from the labels)."""
        intro = f"{key}_intro"
        text = self.t("sections", intro, **self.scope.years) if labels.has_text("sections", intro) else ""
        self.section_title, self.said_empty = self.t("sections", key), ""
        display.show(display.section_html(self.section_title, text))

    def _empty(self, text: str) -> None:
        """Say that a block has no data, unless the block just above said so already."""
        if not self.said_empty:
            display.show(f'<p class="kpi-empty">{display.esc(text)}</p>')
        self.said_empty = self.said_empty or text

    def _stem(self) -> str:
        return downloads.file_stem(self.theme, self.scope)

    def _unique(self, item: Table | Chart) -> Table | Chart:
        """A block's download is named by its title in the edition's words (a chart's with "chart"), and
        two blocks of a report never share a name (the same list shown twice, filtered)."""
        taken = {x.name for x in self.shown}
        if item.title:
            item.name = slug(item.title) + (f"-{self.t('text', 'chart_slug')}" if isinstance(item, Chart) else "")
        base, n = item.name, 2
        while item.name in taken:
            item.name, n = f"{base}-{n}", n + 1
        return item

    def _show_table(self, table: Table, indicators: list[str] = ()) -> None:
        """A table with, under it, its rows as a CSV download (kept for the report's workbook)."""
        self._note_indicators(indicators)
        titled = bool(table.title) and table.title != self.section_title  # the heading above already says it
        table.title = table.title or self.section_title  # the workbook's sheet is named by it
        if table.is_empty:  # "no data" said once: a block right under another empty one adds nothing
            if not (self.said_empty and table.empty_means_no_data):
                display.show(display.table_html(table, show_title=titled))
            if table.empty_means_no_data:
                self.said_empty = self.said_empty or table.empty
            return
        self.said_empty = ""
        self.shown.append(self._unique(table))
        display.show(display.table_html(table, downloads.csv_link(table, self._stem(), self.scope), show_title=titled))

    def _show_chart(self, chart: Chart, indicators: list[str] = ()) -> None:
        self._note_indicators(indicators)
        self.said_empty = ""
        self.shown.append(self._unique(chart))
        number = sum(isinstance(x, Chart) for x in self.shown)
        display.show(display.chart_html(chart, downloads.csv_link(chart, self._stem(), self.scope), number, self.scope))

    def _note_indicators(self, indicators) -> None:
        self.indicators_shown += [i for i in indicators if i not in self.indicators_shown]

    # --- the story ----------------------------------------------------------------------
    def _changes(self) -> pd.DataFrame:
        """The area's two-period changes (none when the area has no figure at all), worked out once."""
        if self.changes is None:
            if views.of_area(self.obs, self.scope).empty:
                self.changes = pd.DataFrame(columns=CHANGES.columns)
            else:
                s = self.scope
                self.changes = compare(self.obs, s.baseline, s.target, area=s.area, priority=self.priority)
        return self.changes.copy()

    def story(self, theme: str | None = None) -> None:
        """Key figures and one sentence per theme (every theme for the overview)."""
        s = self.scope
        best, changes = views.of_area(self.best, s), self._changes()
        blocks = []
        for th in [theme] if theme else THEMES:
            figures, lead = story.theme_story(best, changes, s, th)
            self._note_indicators([f.indicator for f in figures])
            empty = self.t("story", "no_theme_data", area=s.area_name(), **s.years)
            blocks.append(display.key_figures_html(self.t("themes", th) if not theme else "", figures, lead, empty))
        display.show(
            display.section_html(self.t("sections", "story"), self.t("sections", "story_intro", **s.years))
            + "".join(blocks)
        )

    def headline(self, theme: str | None = None) -> None:
        """Indicators known in both years: baseline, target, change, % change, average yearly growth."""
        changes = self._changes()
        if theme:
            changes = changes[changes["indicator"].map(reference.catalogue()["theme"]) == theme]
        empty = self.t("text", "no_data_period", area=self.scope.area_name(), **self.scope.years)
        table = views.change_table(changes, self.scope, self.refs, "both-years", self.t("sections", "headline"), empty)
        self._show_table(table, list(changes.loc[changes["complete"], "indicator"]))

    def one_year(self, theme: str | None = None) -> None:
        """Indicators with a value in the period but not in both years: the latest value and its year."""
        rows = views.latest_in_period(views.of_area(self.best, self.scope), self._changes())
        if theme:
            rows = rows[rows["indicator"].map(reference.catalogue()["theme"]) == theme]
        table = views.value_table(
            rows, self.scope, self.refs, "one-year", self.t("sections", "one_year"), empty=self.t("text", "no_data")
        )
        self._show_table(table, list(rows["indicator"]))

    # --- tables -------------------------------------------------------------------------
    def values(
        self,
        indicators: list[str],
        all_sources: bool = True,
        children: bool = False,
        name: str = "values",
        title: str = "",
        title_key: str = "",
    ) -> None:
        """Every value of the indicators for the area in the period: year, value, status, source.

        ``title_key`` names the table from the labels (``sections``), for a second table of a section."""
        rows = self.period if all_sources else self.best
        rows = views.of_area(rows[rows["indicator"].isin(indicators)], self.scope, children)
        empty = views.empty_text(self.obs, indicators, self.scope, children)
        shown = list(dict.fromkeys(rows["indicator"]))  # the definitions list what the report shows, nothing else
        title = title or (self.t("sections", title_key, **self.scope.years) if title_key else "")
        table = views.value_table(rows, self.scope, self.refs, name, title, empty)
        table.keys = views.row_keys(rows)
        self._show_table(table, shown)

    def list_table(
        self,
        name: str,
        columns: dict[str, str],
        where: dict[str, str] | None = None,
        title: str = "",
        title_key: str = "",
    ) -> None:
        """A processed list (OCOP products, partners, varieties) with the chosen columns, labelled."""
        table = views.filtered_list(api.load_table(f"lists/{name}", self.p.data_dir), where or {}, self.scope)
        words = [slug(labels.value_label(role, w, self.lang)) for role, w in (where or {}).items()]
        name = "-".join([name, *words])  # the same list filtered twice: names in the edition's language
        title = title or (self.t("sections", title_key, **self.scope.years) if title_key else "")
        self._show_table(views.list_table(table, columns, self.scope, self.refs, name, title))

    def checks(self) -> None:
        """Validation findings and source conflicts of the period, in the reader's language."""
        findings = views.of_area(api.load_table("findings", self.p.data_dir), self.scope, children=True)
        conflicts = views.of_area(api.load_table("conflicts", self.p.data_dir), self.scope, children=True)
        self._show_table(audit.findings_table(findings, self.scope, self.refs, self.note_of))
        self._show_table(audit.conflicts_table(conflicts, self.scope, self.refs, self.note_of))

    def since_last_edition(self) -> None:
        """Values new, revised or gone since the previous build's data (editions kept by ``kpi build``)."""
        current = api.load_observations(self.p.data_dir)
        previous, changes = editions.changes_since_previous(current, self.data_version, self.p.data_dir)
        intro, kind, table = audit.edition_block(previous, changes, self.scope, self.refs, self.note_of)
        display.show(f'<p class="kpi-{kind}">{display.esc(intro)}</p>')
        if table is not None:
            self._show_table(table)

    # --- charts -------------------------------------------------------------------------
    def _series(self, rows: pd.DataFrame) -> pd.Series:
        """The legend name of each row's source: its reference number and a short name."""
        return pd.Series(
            [self.refs.legend(s, r, n) for s, r, n in zip(rows["source_id"], rows["source_ref"], rows["note"])],
            index=rows.index,
        )

    def _colours(self, names: list[str]) -> dict[str, str]:
        """A document's colour is the same in every chart of a report: it follows its reference number."""
        number = lambda n: int(n[1 : n.index("]")]) if n.startswith("[") and "]" in n else 0
        return {n: figures.COLOURS[(number(n) - 1) % len(figures.COLOURS)] for n in names}

    def trend(self, indicator: str) -> None:
        """Every value of one indicator for the area in the period, one colour per cited document."""
        rows = views.of_area(self.period[self.period["indicator"] == indicator], self.scope)
        if rows.empty:
            self._empty(views.empty_text(self.obs, [indicator], self.scope))
            return
        rows = rows.assign(series=self._series(rows))
        rows = rows.sort_values(["series", "year"])
        fig = charts.trend(
            rows, indicator, lang=self.lang, colours=self._colours(list(rows["series"])), series="series"
        )
        name = labels.indicator_name(indicator, self.lang)
        years = sorted(rows["year"].astype(int))
        joined = any(  # a line is drawn where one source gives two consecutive years
            any(b - a == 1 for a, b in itertools.pairwise(ys))
            for ys in (sorted(set(g["year"].astype(int))) for _, g in rows.groupby("series"))
        )
        alt = self.t(
            "text",
            "alt_trend" if joined else "alt_points",
            name=name,
            unit=labels.unit_label(rows["unit"].iloc[0], self.lang),
            first=years[0],
            last=years[-1],
            points=views.alt_points(
                rows.sort_values("year").assign(year=lambda d: d["year"].astype(str) + " " + d["series"]), self.scope
            ),
        )
        data = views.value_table(rows, self.scope, self.refs, "", "").data
        chart = Chart(
            f"trend-{indicator}", name, fig, data, alt, views.chart_notes(rows, self.lang), views.row_keys(rows)
        )
        self._show_chart(chart, [indicator])

    def _bars(
        self,
        rows: pd.DataFrame,
        category: str,
        indicators: list[str],
        title: str,
        name: str,
        stacked: bool = False,
        drawn: pd.DataFrame | None = None,
    ) -> None:
        """A bar chart of ``rows`` (observations); ``drawn`` is what the bars are drawn from, if relabelled.

        One bar compares nothing (a commune's own row under "by commune"): its table says it all."""
        drawn = rows if drawn is None else drawn
        if drawn[category].nunique() < 2:
            return
        fig = charts.bars(
            drawn, category, indicators if drawn is rows else ["value"], self.lang, title, stacked=stacked
        )
        unit = labels.unit_label(rows["unit"].iloc[0], self.lang)
        several = rows["indicator"].nunique() > 1 and drawn is rows
        named = drawn[category] + (
            " – " + rows["indicator"].map(lambda i: labels.indicator_name(i, self.lang)) if several else ""
        )
        alt = self.t(
            "text",
            "alt_bars",
            title=title,
            unit=unit,
            points=views.alt_points(rows.assign(label=named), self.scope, label="label", limit=20),
        )
        data = views.value_table(rows, self.scope, self.refs, "", "").data
        chart = Chart(name, title, fig, data, alt, views.chart_notes(rows, self.lang), views.row_keys(rows))
        self._show_chart(chart, list(dict.fromkeys(rows["indicator"])))

    def by_commune(self, indicators: list[str], title_key: str = "", stacked: bool = False) -> None:
        """Table and bar chart of the indicators for each unit inside the area (chosen source, target year)."""
        s = self.scope
        rows = self.best[self.best["indicator"].isin(indicators) & (self.best["year"] == s.target)]
        rows = rows[rows["area_code"].isin(s.children() or [s.area])]
        if rows.empty:
            self._empty(views.empty_text(self.obs, indicators, s, True))
            return
        present = [i for i in indicators if i in set(rows["indicator"])]
        if len(present) == 1 or not title_key:  # "… theo xã, năm 2022"
            title = self.t("text", "by_commune_title", name=labels.indicator_name(present[0], self.lang), year=s.target)
        else:  # the section names the whole chart ("Cơ sở chăn nuôi theo xã và quy mô")
            title = self.t("text", "title_year", name=self.t("sections", title_key), year=s.target)
        table = views.commune_table(rows, indicators, s, self.refs, f"by-commune-{present[0]}", title)
        table.keys = views.row_keys(rows)
        self._show_table(table, present)
        rows = rows.assign(area=rows["area_code"].map(s.area_name)).sort_values("area")
        self._bars(rows, "area", present, title, f"chart-by-commune-{present[0]}", stacked=stacked)

    def bars_of(self, indicators: list[str], title_key: str, year: int | None = None) -> None:
        """Bar chart of several indicators (one unit) of the area in one year (default: target)."""
        s = self.scope
        year = year or s.target
        rows = self.best[
            self.best["indicator"].isin(indicators) & (self.best["year"] == year) & (self.best["area_code"] == s.area)
        ]
        if rows.empty:
            self._empty(views.empty_text(self.obs, indicators, s))
            return
        rows = rows.assign(label=rows["indicator"].map(lambda i: labels.indicator_name(i, self.lang)))
        own = f"{title_key}_chart"  # a chart whose bars need saying what they are (ranges, not counts of a year)
        title = (
            self.t("sections", own, year=year)
            if labels.has_text("sections", own)
            else self.t("text", "bars_title", name=self.t("sections", title_key), year=year)
        )
        self._bars(rows, "label", indicators, title, f"chart-{title_key}", drawn=rows.assign(indicator="value"))

    def sources_side_by_side(self, indicator: str, year: int | None = None) -> None:
        """All sources' values of one indicator for the area (in ``year``), as a table and a bar chart."""
        s = self.scope
        rows = views.of_area(self.period[self.period["indicator"] == indicator], s)
        if year is not None:
            rows = rows[rows["year"] == year]
        name = labels.indicator_name(indicator, self.lang)
        title = self.t("text", "sources_side_by_side", name=name)
        empty = views.empty_text(self.obs, [indicator], s)
        table = views.value_table(rows, s, self.refs, f"sources-{indicator}", title, empty)
        table.keys = views.row_keys(rows)
        self._show_table(table, [indicator])
        if rows["source_id"].nunique() < 2:  # one source has nothing to be set beside: its table says it all
            return
        rows = rows.assign(label=self._series(rows) + " · " + rows["year"].astype(str))
        self._bars(
            rows, "label", [indicator], title, f"chart-sources-{indicator}", drawn=rows.assign(indicator="value")
        )

    # --- the end ------------------------------------------------------------------------
    def end(self) -> None:
        """The publication's apparatus: definitions, method, symbols, numbered sources, edition, all the data."""
        s = self.scope
        parts = [
            display.definitions_html(self.indicators_shown, s),
            display.method_html(s),
            display.symbols_html(s),
            display.references_html(self.refs, s),
            display.about_html(s, self.data_version),
            self._workbook_link(),
        ]
        display.show('<div class="kpi-apparatus">' + "".join(parts) + "</div>")

    def _workbook_link(self) -> str:
        """Every table and chart of the report as one workbook, with its sources and notes."""
        if not self.shown:
            return ""
        return downloads.workbook_section(self.shown, self.scope, self.refs, self.indicators_shown, self._stem())


def start(
    baseline_year: object, target_year: object, area_code: object, lang: object, data_dir: object = None
) -> Context:
    """Check the parameters (one-line errors), load the processed data and set the chart style."""
    p = params.check(baseline_year, target_year, area_code, lang, data_dir)
    obs = api.load_observations(p.data_dir)
    p = params.check(baseline_year, target_year, area_code, lang, data_dir, observations=obs)
    version = reads.data_version(obs)
    obs = reorg.in_units_of_year(obs, p.target_year)
    if "note" not in obs:
        obs = obs.assign(note="")
    obs = obs.assign(note=obs["note"].fillna(""))
    figures.use_style()
    return Context(p, obs, api.load_priorities(p.data_dir), api.load_table("sources", p.data_dir), version)
