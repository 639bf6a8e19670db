"""What the notebooks call: one ``start`` that checks parameters and loads data, then display helpers.

Notebooks stay thin (parameters, one call per section); every table here shows each
figure with its status and its exact source place.

    ctx = start(2012, 2022, "106", "vi", None)
    ctx.heading("tea")
    ctx.headline(theme="tea")
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kpi import api, charts, editions, labels, params, reference, reorg
from kpi.changes import compare
from kpi.ingest import data_version
from kpi.sources import pick


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def _html(markup: str):
    from IPython.display import HTML

    return HTML(markup)


def _escape(text: object) -> str:
    import html

    return html.escape("" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text))


MAX_ROWS = 200  # rows of a list shown in a report; the full tables are in data/processed


@dataclass
class Context:
    """Parameters and data of one notebook run."""

    p: params.Parameters
    obs: pd.DataFrame
    priority: dict[str, int]
    data_version: str = ""
    best: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self.best = pick(self.obs, self.priority)

    # --- text ------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.p.lang

    def t(self, group: str, key: str) -> str:
        return labels.text(group, key, self.lang)

    def area_label(self, code: str | None = None) -> str:
        return labels.area_name(code or self.p.area_code, self.p.target_year, self.lang)

    def heading(self, theme: str) -> None:
        """The area and years of the report in the chosen language (the notebook's title is above it)."""
        title = labels.text("themes", theme, self.lang)
        sub = f"{title}: {self.area_label()} · {self.p.baseline_year} → {self.p.target_year}"
        _display(_html(f"<p class='kpi-sub'><strong>{_escape(sub)}</strong></p>"
                       f"<p class='kpi-note'>{_escape(self.t('text', 'notes_sources'))}</p>"))

    def section(self, key: str) -> None:
        _display(_html(f"<h2>{_escape(self.t('text', key))}</h2>"))

    # --- tables ----------------------------------------------------------------------
    def _table(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            _display(_html(f"<p class='kpi-empty'>{_escape(self.t('text', 'no_data'))}</p>"))
            return
        _display(_html(frame.to_html(index=False, escape=True, classes="kpi-table", border=0, na_rep="–")))

    def _cell(self, value: float, unit: str, status: str) -> str:
        return labels.fmt_value(value, unit, self.lang, status)

    def _area_rows(self, frame: pd.DataFrame, with_children: bool = False) -> pd.DataFrame:
        codes = {self.p.area_code}
        if with_children:
            codes |= set(self.children())
        return frame[frame["area_code"].isin(codes)]

    def children(self) -> list[str]:
        """Codes of the units inside the area (communes of the district), in the target year's era."""
        areas = reference.gazetteer().areas
        era = reference.era_of_year(self.p.target_year)
        inside = areas[(areas["parent"] == self.p.area_code) & areas["era"].isin([era, "former"])]
        return list(inside["code"])

    def headline(self, theme: str | None = None) -> pd.DataFrame:
        """Every indicator with values at both years: baseline, target, change, % change, CAGR, statuses."""
        changes = compare(self._area_rows(self.obs), self.p.baseline_year, self.p.target_year,
                          area=self.p.area_code, priority=self.priority)
        if theme:
            changes = changes[changes["indicator"].map(reference.catalogue()["theme"]) == theme]
        complete = changes[changes["complete"]]
        c = lambda k: self.t("columns", k)  # noqa: E731
        table = pd.DataFrame({
            c("indicator"): complete["indicator"].map(lambda i: labels.indicator_name(i, self.lang)),
            f"{c('baseline')} {self.p.baseline_year}": [self._cell(v, u, s) for v, u, s in
                                                        zip(complete["baseline_value"], complete["unit"], complete["baseline_status"])],
            f"{c('target')} {self.p.target_year}": [self._cell(v, u, s) for v, u, s in
                                                    zip(complete["target_value"], complete["unit"], complete["target_status"])],
            c("change_abs"): [labels.fmt_change(v, self.lang, u) for v, u in zip(complete["change_abs"], complete["unit"])],
            c("change_pct"): [labels.fmt_change(v, self.lang, decimals=1) for v in complete["change_pct"]],
            c("cagr_pct"): [labels.fmt_change(v, self.lang, decimals=2) for v in complete["cagr_pct"]],
            c("baseline_status"): complete["baseline_status"].map(lambda s: labels.status_label(s, self.lang)),
            c("target_status"): complete["target_status"].map(lambda s: labels.status_label(s, self.lang)),
            c("source"): [f"{b} | {t}" for b, t in zip(complete["baseline_ref"], complete["target_ref"])],
        })
        self._table(table)
        missing = changes[~changes["complete"]]
        if len(missing):
            names = ", ".join(labels.indicator_name(i, self.lang) for i in missing["indicator"].head(12))
            more = f" (+{len(missing) - 12})" if len(missing) > 12 else ""
            word = {"vi": "Chỉ có số liệu ở một trong hai năm", "en": "Values in only one of the two years"}[self.lang]
            _display(_html(f"<p class='kpi-note'>{word}: {_escape(names)}{more}.</p>"))
        return complete

    def values(self, indicators: list[str], all_sources: bool = True, children: bool = False,
               years: list[int] | None = None) -> pd.DataFrame:
        """Every value of the indicators for the area: year, value with unit, status, source place."""
        rows = self.obs if all_sources else self.best
        rows = self._area_rows(rows[rows["indicator"].isin(indicators)], with_children=children)
        if years is not None:
            rows = rows[rows["year"].isin(years)]
        rows = rows.sort_values(["indicator", "area_code", "year", "source_id"])
        c = lambda k: self.t("columns", k)  # noqa: E731
        table = pd.DataFrame({
            c("indicator"): rows["indicator"].map(lambda i: labels.indicator_name(i, self.lang)),
            c("area"): rows["area_code"].map(self.area_label),
            c("year"): rows["year"].astype(str),
            c("value"): [self._cell(v, u, s) for v, u, s in zip(rows["value"], rows["unit"], rows["status"])],
            c("status"): rows["status"].map(lambda s: labels.status_label(s, self.lang)),
            c("source"): rows["source_ref"],
        })
        self._table(table)
        return rows

    def list_table(self, name: str, columns: dict[str, str], where: dict[str, str] | None = None) -> pd.DataFrame:
        """A processed list (OCOP products, partners, varieties) with the chosen columns, labelled."""
        table = api.load_table(f"lists/{name}", self.p.data_dir)
        for role, wanted in (where or {}).items():
            table = table[table[role].astype(str).str.contains(wanted, case=False, regex=False)]
        if self.p.area_code != "106" and "area_codes" in table:
            table = table[table["area_codes"].fillna("").str.split(";").map(lambda c: self.p.area_code in c)]
        shown = table[list(columns) + ["source_ref"]].rename(
            columns={**{k: self.t("columns", v) for k, v in columns.items()}, "source_ref": self.t("columns", "source")})
        for col in shown.columns:
            shown[col] = shown[col].map(lambda v: labels.fmt_number(v, self.lang) if isinstance(v, float) else v)
        self._table(shown)
        return table

    def finding_text(self, f: pd.Series) -> str:
        """A finding in the reader's language, from its structured fields."""
        unit = f["unit"] if isinstance(f["unit"], str) else ""
        value = labels.fmt_value(f["value"], unit, self.lang)
        expected = labels.fmt_value(f["expected"], unit, self.lang) if f["check"] != "printed_ratio" else \
            labels.fmt_number(f["expected"], self.lang, 3) + ("\u00a0" + labels.unit_label(unit, self.lang) if unit else "")
        templates = {
            "printed_ratio": {"vi": "số in {value}, tính từ các thành phần được {expected}",
                              "en": "printed {value}, its parts give {expected}"},
            "breakdown_sum": {"vi": "tổng các xã ({other}) là {expected}, tổng in là {value}",
                              "en": "commune parts ({other}) add up to {expected}, the printed total is {value}"},
            "identity": {"vi": "{other} = {expected}, tổng in là {value}",
                         "en": "{other} = {expected}, the printed total is {value}"},
            "same_value_other_year": {"vi": "{value} cũng là số của {other}",
                                      "en": "{value} is also the figure of {other}"},
        }
        template = templates.get(f["check"], {}).get(self.lang)
        if template is None:
            return str(f["message"])
        return template.format(value=value, expected=expected, other=f["other"])

    def checks(self) -> None:
        """Validation findings and source conflicts, in the reader's language."""
        findings = self._area_rows(api.load_table("findings", self.p.data_dir), with_children=True)
        conflicts = self._area_rows(api.load_table("conflicts", self.p.data_dir), with_children=True)
        hidden = {"findings": len(findings) - MAX_ROWS, "conflicts": len(conflicts) - MAX_ROWS}
        findings, conflicts = findings.head(MAX_ROWS), conflicts.head(MAX_ROWS)
        c = lambda k: self.t("columns", k)  # noqa: E731
        self.section("findings")
        self._table(pd.DataFrame({
            c("check"): findings["check"].map(lambda k: self.t("checks", k)),
            c("indicator"): findings["indicator"].map(lambda i: labels.indicator_name(i, self.lang)),
            c("area"): findings["area_code"].map(self.area_label), c("year"): findings["year"].astype(str),
            c("message"): [self.finding_text(f) for _, f in findings.iterrows()], c("source"): findings["source_ref"],
        }))
        self._more(hidden["findings"])
        self.section("conflicts")
        self._table(pd.DataFrame({
            c("indicator"): conflicts["indicator"].map(lambda i: labels.indicator_name(i, self.lang)),
            c("area"): conflicts["area_code"].map(self.area_label), c("year"): conflicts["year"].astype(str),
            c("chosen"): [f"{self._cell(v, u, s)} ({src})" for v, u, s, src in zip(
                conflicts["chosen_value"], conflicts["unit"], conflicts["chosen_status"], conflicts["chosen_source"])],
            c("other"): [f"{self._cell(v, u, s)} ({src}: {ref})" for v, u, s, src, ref in zip(
                conflicts["other_value"], conflicts["unit"], conflicts["other_status"], conflicts["other_source"],
                conflicts["other_ref"])],
        }))
        self._more(hidden["conflicts"])

    def since_last_edition(self) -> pd.DataFrame:
        """Values new, revised or gone since the previous build's data (editions kept by ``kpi build``)."""
        current = api.load_observations(self.p.data_dir)
        previous, changes = editions.changes_since_previous(current, self.data_version, self.p.data_dir)
        changes = self._area_rows(changes, with_children=True)
        if previous is None:
            word = {"vi": "Đây là lần dựng đầu tiên với dữ liệu này: chưa có bản trước để so sánh.",
                    "en": "First edition of this data: there is no previous edition to compare with."}[self.lang]
            _display(_html(f"<p class='kpi-note'>{word}</p>"))
            return changes
        kinds = {"new": {"vi": "mới", "en": "new"}, "revised": {"vi": "sửa đổi", "en": "revised"},
                 "gone": {"vi": "không còn", "en": "gone"}}
        counts = changes["change"].value_counts()
        shown = changes.head(MAX_ROWS)
        head = {"vi": f"So với bản dữ liệu trước ({previous})", "en": f"Compared with the previous edition ({previous})"}[self.lang]
        summary = ", ".join(f"{kinds[k][self.lang]}: {counts.get(k, 0)}" for k in kinds)
        _display(_html(f"<p class='kpi-note'>{_escape(head)}: {_escape(summary)}.</p>"))
        c = lambda k: self.t("columns", k)  # noqa: E731
        self._table(pd.DataFrame({
            c("check"): shown["change"].map(lambda k: kinds[k][self.lang]),
            c("indicator"): shown["indicator"].map(lambda i: labels.indicator_name(i, self.lang)),
            c("area"): shown["area_code"].map(self.area_label), c("year"): shown["year"].astype(str),
            {"vi": "Giá trị cũ", "en": "Old value"}[self.lang]: [
                self._cell(v, u, s) for v, u, s in zip(shown["old_value"], shown["unit"], shown["old_status"])],
            {"vi": "Giá trị mới", "en": "New value"}[self.lang]: [
                self._cell(v, u, s) for v, u, s in zip(shown["new_value"], shown["unit"], shown["new_status"])],
            c("source"): shown["source_ref"],
        }))
        self._more(len(changes) - len(shown))
        return changes

    def _more(self, hidden: int) -> None:
        """Say how many rows a long table leaves out (a report stays small enough to e-mail)."""
        if hidden > 0:
            word = {"vi": f"… và {hidden} dòng nữa: xem bảng đầy đủ trong data/processed/ hoặc data/editions/.",
                    "en": f"… and {hidden} more rows: see the full tables in data/processed/ or data/editions/."}
            _display(_html(f"<p class='kpi-note'>{_escape(word[self.lang])}</p>"))

    # --- charts ----------------------------------------------------------------------
    def trend(self, indicator: str):
        rows = self._area_rows(self.obs[self.obs["indicator"] == indicator])
        if rows.empty:
            _display(_html(f"<p class='kpi-empty'>{_escape(self.t('text', 'no_data'))}</p>"))
            return None
        return charts.trend(rows, indicator, self.lang, colours=charts.source_colours(list(self.priority)))

    def by_commune(self, indicators: list[str], title_key: str, stacked: bool = False):
        """Table and bar chart of the indicators for each unit inside the area (chosen source)."""
        rows = self.best[self.best["indicator"].isin(indicators) & (self.best["year"] == self.p.target_year)]
        rows = rows[rows["area_code"].isin(self.children() or [self.p.area_code])]
        if rows.empty:
            _display(_html(f"<p class='kpi-empty'>{_escape(self.t('text', 'no_data'))}</p>"))
            return None
        rows = rows.assign(area=rows["area_code"].map(self.area_label)).sort_values("area")
        wide = rows.pivot_table(index="area", columns="indicator", values="value", aggfunc="first")
        c = lambda k: self.t("columns", k)  # noqa: E731
        table = pd.DataFrame({c("area"): wide.index})
        for ind in indicators:
            if ind in wide:
                unit = rows.loc[rows["indicator"] == ind, "unit"].iloc[0]
                table[labels.indicator_name(ind, self.lang)] = [labels.fmt_value(v, unit, self.lang) for v in wide[ind]]
        refs = rows.groupby("area")["source_ref"].apply(lambda s: ", ".join(r.rsplit("!", 1)[-1] for r in s))
        table[c("source")] = table[c("area")].map(refs).map(lambda r: f"{rows['source_ref'].iloc[0].rsplit('!', 1)[0]}!{r}")
        self._table(table)
        return charts.bars(rows, "area", [i for i in indicators if i in set(rows["indicator"])], self.lang,
                           self.t("text", title_key), stacked=stacked)

    def bars_of(self, indicators: list[str], title_key: str, year: int | None = None):
        """Bar chart of several indicators of one unit for the area in one year (default: target)."""
        year = year or self.p.target_year
        rows = self.best[self.best["indicator"].isin(indicators) & (self.best["year"] == year)
                         & (self.best["area_code"] == self.p.area_code)]
        if rows.empty:
            _display(_html(f"<p class='kpi-empty'>{_escape(self.t('text', 'no_data'))}</p>"))
            return None
        rows = rows.assign(label=rows["indicator"].map(lambda i: labels.indicator_name(i, self.lang)),
                           series="value")
        table = rows.assign(indicator="series")
        return charts.bars(table, "label", ["series"], self.lang, self.t("text", title_key))

    def sources_side_by_side(self, indicator: str, year: int | None = None):
        """All sources' values of one indicator for the area, as a table and a bar chart."""
        rows = self._area_rows(self.obs[self.obs["indicator"] == indicator])
        if year is not None:
            rows = rows[rows["year"] == year]
        self.values([indicator], years=[year] if year is not None else None)
        if rows.empty:
            return None
        rows = rows.assign(label=rows["source_id"] + " " + rows["year"].astype(str))
        return charts.bars(rows, "label", [indicator], self.lang, self.t("text", "sources_side_by_side"))


def _in_era_of_target(p: params.Parameters, obs: pd.DataFrame) -> pd.DataFrame:
    """Observations in the units of the target year: from 2025, old years re-aggregated to the new communes.

    ``params.check`` has made sure the area exists in the target year's era (03390 is Thị
    trấn Tam Đường up to 2024 and Xã Bình Lư from 2025).
    """
    if reference.era_of_year(p.target_year) == "pre2025":
        return obs
    return reorg.series_in_new_units(obs)


def start(baseline_year: object, target_year: object, area_code: object, lang: object,
          data_dir: object = None) -> Context:
    """Check the parameters (one-line errors), load the processed data and set the chart style."""
    p = params.check(baseline_year, target_year, area_code, lang, data_dir)
    obs = api.load_observations(p.data_dir)
    p = params.check(baseline_year, target_year, area_code, lang, data_dir, observations=obs)
    version = data_version(obs)
    obs = _in_era_of_target(p, obs)
    charts.use_style()
    return Context(p, obs, api.load_priorities(p.data_dir), version)
