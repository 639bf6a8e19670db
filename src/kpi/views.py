"""Views: pure functions from the processed tables to labelled tables, in one language.

A ``Table`` holds the rows a reader sees twice over: ``shown`` (text as printed in the
report: ``10.200 t``, ``[1] 02_Che!D7``) and ``data`` (the same rows as plain values:
numbers as floats, the unit in its own column, the status and the full source citation),
which is what a reader downloads.  Nothing here displays anything; ``kpi.display`` does.

Every view sees only the chosen period: ``Scope`` carries baseline, target, area and
language, and ``in_period`` is applied before anything is shown.

>>> scope = Scope(2012, 2022, "106", "en")
>>> obs = pd.DataFrame({"indicator": "tea.area", "area_code": "106", "year": [2011, 2018, 2023],
...     "value": 1.0, "unit": "ha", "status": "reported", "source_id": "s", "source_ref": "r", "note": ""})
>>> in_period(obs, scope)["year"].tolist()
[2018]
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field

import pandas as pd

from kpi import labels, reference
from kpi.cite import References, caveats

MAX_ROWS = 200  # rows of a list shown in a report: a report stays small enough to e-mail


@dataclass(frozen=True)
class Scope:
    """What one report is about: the period, the area and the language."""

    baseline: int
    target: int
    area: str
    lang: str

    def t(self, group: str, key: str, n: float | None = None, **values: object) -> str:
        return labels.text(group, key, self.lang, n=n, **values)

    def col(self, key: str) -> str:
        return labels.text("columns", key, self.lang)

    def area_name(self, code: str | None = None) -> str:
        return labels.area_name(code or self.area, self.target, self.lang)

    def children(self) -> list[str]:
        """Codes of the units inside the area (communes of the district), in the target year's era."""
        areas = reference.gazetteer().areas
        era = reference.era_of_year(self.target)
        inside = areas[(areas["parent"] == self.area) & areas["era"].isin([era, "former"])]
        return list(inside["code"])

    @property
    def years(self) -> dict[str, int]:
        return {"baseline": self.baseline, "target": self.target}


@dataclass
class Table:
    """One table of a report: what is shown, the same rows as data, and the notes under it."""

    name: str  # short id: the download's file name and the workbook's sheet
    title: str
    shown: pd.DataFrame
    data: pd.DataFrame
    numeric: tuple[str, ...] = ()  # columns of ``shown`` aligned right
    marks: dict[tuple[int, str], str] = field(default_factory=dict)  # (row, column) → note letters
    notes: list[tuple[str, str]] = field(default_factory=list)  # (letter, note)
    empty: str = ""  # said instead of an empty table
    more: str = ""  # rows left out
    caption: str = ""
    keys: frozenset = frozenset()  # (indicator, area, year, source) of the rows shown, when they are observations
    empty_means_no_data: bool = True  # False: an empty table is a result ("no problem found"), always said

    @property
    def is_empty(self) -> bool:
        return self.shown.empty


def in_period(obs: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Rows of the years from baseline to target only: a report shows its chosen period, nothing else."""
    return obs[(obs["year"] >= scope.baseline) & (obs["year"] <= scope.target)]


def of_area(obs: pd.DataFrame, scope: Scope, children: bool = False) -> pd.DataFrame:
    codes = {scope.area} | (set(scope.children()) if children else set())
    return obs[obs["area_code"].isin(codes)]


class Notes:
    """Letters for the caveats of one table's figures: the same note gets the same letter."""

    def __init__(self, lang: str):
        self.lang = lang
        self.letters: dict[str, str] = {}

    def mark(self, note: object) -> str:
        found = caveats(note, self.lang)
        for text in found:
            if text not in self.letters:
                self.letters[text] = string.ascii_lowercase[len(self.letters) % 26]
        return ",".join(self.letters[t] for t in found)

    def listed(self) -> list[tuple[str, str]]:
        return [(letter, text) for text, letter in self.letters.items()]

    def texts(self, note: object) -> str:
        return " ".join(caveats(note, self.lang))


def empty_text(obs_all: pd.DataFrame, indicators: list[str], scope: Scope, children: bool = False) -> str:
    """What to say when a table of the period is empty; years outside the period are named, not shown."""
    rows = of_area(obs_all[obs_all["indicator"].isin(indicators)], scope, children)
    outside = sorted(set(rows["year"].astype(int)) - set(range(scope.baseline, scope.target + 1)))
    values = {"area": scope.area_name(), "baseline": scope.baseline, "target": scope.target}
    if outside:
        text = scope.t("text", "no_data_elsewhere", n=len(outside), years=", ".join(map(str, outside)), **values)
    else:
        text = scope.t("text", "no_data_period", **values)
    return text + _in_groups(obs_all, indicators, scope)


def _in_groups(obs: pd.DataFrame, indicators: list[str], scope: Scope) -> str:
    """`` A figure is given for Sơn Bình và Nà Tăm together.``: a group of areas holding this one has one."""
    areas = reference.gazetteer().areas
    groups = areas[(areas["level"] == "group") & areas["members"].str.split().map(lambda m: scope.area in m)]
    rows = in_period(obs[obs["indicator"].isin(indicators) & obs["area_code"].isin(groups["code"])], scope)
    given = [
        f"{scope.area_name(r.area_code)}, {labels.indicator_name(r.indicator, scope.lang).lower()}: "
        f"{labels.fmt_value(r.value, r.unit, scope.lang, r.status)} ({r.year})"
        for r in rows.sort_values(["indicator", "year"]).itertuples()
    ]
    return " " + scope.t("text", "in_group", groups="; ".join(given)) if given else ""


def status_text(status: object, scope: Scope) -> str:
    """A status as the edition prints it (short form); empty for none."""
    return labels.status_label(status, scope.lang, short=True) if isinstance(status, str) else ""


def value_table(rows: pd.DataFrame, scope: Scope, refs: References, name: str, title: str, empty: str = "") -> Table:
    """Every value of some indicators: indicator, (area), year, value with unit, status, source.

    ``rows`` are observations already cut to the period and area; the area column is shown
    only when it varies (a constant column would repeat one name on every line).
    """
    rows = rows.sort_values(["indicator", "area_code", "year", "source_id"], kind="stable").reset_index(drop=True)
    notes, c = Notes(scope.lang), scope.col
    several_areas = rows["area_code"].nunique() > 1
    names = rows["indicator"].map(lambda i: labels.indicator_name(i, scope.lang))
    areas = rows["area_code"].map(scope.area_name)
    shown = pd.DataFrame({c("indicator"): names})
    if several_areas:
        shown[c("area")] = areas
    shown[c("year")] = rows["year"].astype(int).astype(str)
    shown[c("value")] = [
        labels.fmt_value(v, u, scope.lang, s) for v, u, s in zip(rows["value"], rows["unit"], rows["status"])
    ]
    shown[c("status")] = rows["status"].map(lambda s: status_text(s, scope))
    shown[c("source")] = [refs.label(s, r, n) for s, r, n in zip(rows["source_id"], rows["source_ref"], rows["note"])]
    marks = {(i, c("value")): m for i, m in enumerate(rows["note"].map(notes.mark)) if m}
    data = pd.DataFrame(
        {
            c("indicator"): names,
            c("area_code"): rows["area_code"],
            c("area"): areas,
            c("year"): rows["year"].astype(int),
            c("value"): rows["value"].astype(float),
            c("unit"): rows["unit"].map(lambda u: labels.unit_label(u, scope.lang)),
            c("status"): rows["status"].map(lambda s: status_text(s, scope)),
            c("note"): rows["note"].map(notes.texts),
            c("source"): [
                refs.citation(s, r, n) for s, r, n in zip(rows["source_id"], rows["source_ref"], rows["note"])
            ],
            c("place"): rows["source_ref"],
        }
    )
    caption = "" if several_areas or rows.empty else scope.t("text", "area_of_table", area=areas.iloc[0])
    return Table(
        name,
        title,
        shown,
        data,
        numeric=(c("year"), c("value")),
        marks=marks,
        notes=notes.listed(),
        empty=empty,
        caption=caption,
    )


def _ends(rows: pd.DataFrame, end: str) -> list[tuple[str, str, object]]:
    """(source, place, note) of each row's baseline or target value."""
    return list(zip(rows[f"{end}_source"], rows[f"{end}_ref"], rows[f"{end}_note"]))


def change_table(
    changes: pd.DataFrame, scope: Scope, refs: References, name: str, title: str, empty: str = ""
) -> Table:
    """Indicators known in both years: baseline, target, change, % change, average yearly growth, sources."""
    rows = changes[changes["complete"]].reset_index(drop=True)
    notes, c, lang = Notes(scope.lang), scope.col, scope.lang
    b, t = f"{c('baseline')} {scope.baseline}", f"{c('target')} {scope.target}"
    names = rows["indicator"].map(lambda i: labels.indicator_name(i, lang))
    ends = list(zip(_ends(rows, "baseline"), _ends(rows, "target")))
    value = lambda end: [
        labels.fmt_value(v, u, lang, s) for v, u, s in zip(rows[f"{end}_value"], rows["unit"], rows[f"{end}_status"])
    ]
    shown = pd.DataFrame(
        {
            c("indicator"): names,
            b: value("baseline"),
            t: value("target"),
            c("change_abs"): [labels.fmt_change(v, lang, u) for v, u in zip(rows["change_abs"], rows["unit"])],
            c("change_pct"): [labels.fmt_change(v, lang, decimals=1) for v in rows["change_pct"]],
            c("cagr_pct"): [labels.fmt_change(v, lang, decimals=2) for v in rows["cagr_pct"]],
            c("source"): [_two_ends(refs.label(*be), refs.label(*te), scope) for be, te in ends],
        }
    )
    marks = {
        (i, column): notes.mark(note)
        for i, (nb, nt) in enumerate(zip(rows["baseline_note"], rows["target_note"]))
        for column, note in ((b, nb), (t, nt))
        if notes.mark(note)
    }
    status = lambda end: rows[f"{end}_status"].map(lambda s: status_text(s, scope))
    data = pd.DataFrame(
        {
            c("indicator"): names,
            c("unit"): rows["unit"].map(lambda u: labels.unit_label(u, lang)),
            b: rows["baseline_value"].astype(float),
            f"{c('status')} {scope.baseline}": status("baseline"),
            t: rows["target_value"].astype(float),
            f"{c('status')} {scope.target}": status("target"),
            c("change_abs"): rows["change_abs"].astype(float),
            c("change_pct"): rows["change_pct"].astype(float),
            c("cagr_pct"): rows["cagr_pct"].astype(float),
            c("note"): [" ".join(x for x in (notes.texts(be[2]), notes.texts(te[2])) if x) for be, te in ends],
            c("source"): [" | ".join(dict.fromkeys((refs.citation(*be), refs.citation(*te)))) for be, te in ends],
            c("place"): [f"{be[1]} | {te[1]}" for be, te in ends],
        }
    )
    numeric = (b, t, c("change_abs"), c("change_pct"), c("cagr_pct"))
    caption = scope.t("text", "area_of_table", area=scope.area_name())
    return Table(name, title, shown, data, numeric, marks, notes.listed(), empty=empty, caption=caption)


def _two_ends(baseline: str, target: str, scope: Scope) -> str:
    """The sources of a change's two ends, one per line (once when they are the same place)."""
    return baseline if baseline == target else f"{scope.baseline}: {baseline}\n{scope.target}: {target}"


def latest_in_period(best: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """For indicators not known in both years: their latest value of the period (chosen source)."""
    complete = set(changes.loc[changes["complete"], "indicator"])
    rows = best[~best["indicator"].isin(complete) & ~best["indicator"].str.endswith((".increase", ".printed"))]
    return rows.sort_values("year").drop_duplicates(["indicator", "area_code"], keep="last")


def list_table(
    table: pd.DataFrame, columns: dict[str, str], scope: Scope, refs: References, name: str, title: str
) -> Table:
    """A processed list (OCOP products, partners, varieties): chosen columns, category values translated."""
    c, lang = scope.col, scope.lang
    shown, data = pd.DataFrame(index=table.index), pd.DataFrame(index=table.index)
    numeric = []
    for role, key in columns.items():
        values = table[role]
        if pd.api.types.is_numeric_dtype(values):
            numeric.append(c(key))
            unit = table.get(f"{role.rsplit('_', 1)[0]}_unit")
            shown[c(key)] = [
                labels.fmt_value(v, u, lang) if isinstance(u, str) else labels.fmt_number(v, lang)
                for v, u in zip(values, unit if unit is not None else [None] * len(values))
            ]
            data[c(key)] = values.astype(float)
            if unit is not None:
                data[c("unit")] = unit.map(lambda u: labels.unit_label(u, lang) if isinstance(u, str) else "")
        elif role == "area" and "area_codes" in table:  # places by their codes: official names, in the edition's era
            shown[c(key)] = data[c(key)] = [
                "; ".join(scope.area_name(code) for code in str(codes).split(";") if code)
                if isinstance(codes, str)
                else ""
                for codes in table["area_codes"]
            ]
        else:
            shown[c(key)] = data[c(key)] = values.map(lambda v, r=role: labels.value_label(r, v, lang)).fillna("")
    shown[c("source")] = [refs.label(s, r) for s, r in zip(table["source_id"], table["source_ref"])]
    data[c("source")] = [refs.citation(s, r) for s, r in zip(table["source_id"], table["source_ref"])]
    data[c("place")] = table["source_ref"]
    return Table(
        name,
        title,
        shown.reset_index(drop=True),
        data.reset_index(drop=True),
        numeric=tuple(numeric),
        empty=scope.t("text", "no_data"),
    )


def commune_table(
    rows: pd.DataFrame, indicators: list[str], scope: Scope, refs: References, name: str, title: str
) -> Table:
    """One line per commune, one column per indicator (chosen source, target year)."""
    c, lang = scope.col, scope.lang
    rows = rows.assign(area=rows["area_code"].map(scope.area_name)).sort_values(["area", "indicator"])
    order = list(dict.fromkeys(rows["area"]))
    shown, data = pd.DataFrame({c("area"): order}), pd.DataFrame({c("area"): order})
    numeric = []
    present = [i for i in indicators if i in set(rows["indicator"])]
    one_unit = rows.loc[rows["indicator"].isin(present), "unit"].nunique() == 1
    for ind in present:
        part = rows[rows["indicator"] == ind].set_index("area").reindex(order)
        name_ = labels.indicator_name(ind, lang)
        numeric.append(name_)
        shown[name_] = [labels.fmt_value(v, u, lang, s) for v, u, s in zip(part["value"], part["unit"], part["status"])]
        unit = labels.unit_label(rows.loc[rows["indicator"] == ind, "unit"].iloc[0], lang)
        data[name_ if one_unit else f"{name_} ({unit})"] = part["value"].astype(float).values
        data[f"{c('status')}: {name_}"] = [status_text(x, scope) for x in part["status"]]
    if one_unit and present:  # the unit in its own column, once (a chart's bars share one unit)
        data[c("unit")] = labels.unit_label(rows["unit"].iloc[0], lang)
    refs_by_area = rows.groupby("area", sort=False).apply(
        lambda g: refs.label(g["source_id"].iloc[0], " + ".join(g["source_ref"])), include_groups=False
    )
    shown[c("source")] = [refs_by_area.get(a, "") for a in order]
    data[c("source")] = [
        refs.citation(
            rows.loc[rows["area"] == a, "source_id"].iloc[0], rows.loc[rows["area"] == a, "source_ref"].iloc[0]
        )
        for a in order
    ]
    data[c("place")] = [", ".join(rows.loc[rows["area"] == a, "source_ref"]) for a in order]
    return Table(name, title, shown, data, numeric=tuple(numeric), empty=scope.t("text", "no_data"))


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass
class Chart:
    """One chart of a report: the figure, the rows it draws (as data), and words for who cannot see it."""

    name: str
    title: str
    figure: object  # matplotlib Figure
    data: pd.DataFrame
    alt: str
    notes: list[tuple[str, str]] = field(default_factory=list)  # (letter, caveat) of the figures it draws
    keys: frozenset = frozenset()  # (indicator, area, year, source) drawn: a table of the same rows makes it redundant


def row_keys(rows: pd.DataFrame) -> frozenset:
    """The observations a block shows, by (indicator, area, year, source)."""
    if rows.empty or not {"indicator", "area_code", "year", "source_id"} <= set(rows.columns):
        return frozenset()
    return frozenset(zip(rows["indicator"], rows["area_code"], rows["year"].astype(int), rows["source_id"]))


def chart_notes(rows: pd.DataFrame, lang: str) -> list[tuple[str, str]]:
    """The caveats of the figures a chart draws, lettered as under a table."""
    notes = Notes(lang)
    for note in rows.get("note", pd.Series(dtype=object)):
        notes.mark(note)
    return notes.listed()


def alt_points(rows: pd.DataFrame, scope: Scope, label: str = "year", limit: int = 12) -> str:
    """The values a chart draws, in words (for its alt text): ``2012: 3.407 t (tính toán); …``."""
    parts = []
    for r in rows.head(limit).itertuples():
        status = "" if r.status == "reported" else f" ({status_text(r.status, scope)})"
        parts.append(f"{getattr(r, label)}: {labels.fmt_value(r.value, r.unit, scope.lang)}{status}")
    more = f"; … (+{len(rows) - limit})" if len(rows) > limit else ""
    return "; ".join(parts) + more + "."


def top_areas() -> set[str]:
    """Areas whose lists are the whole list: the district (or any area without a parent in the data)."""
    areas = reference.gazetteer().areas
    return set(areas.loc[areas["level"].isin(["district", "province"]), "code"])


def filtered_list(table: pd.DataFrame, where: dict[str, str], s: Scope) -> pd.DataFrame:
    """A processed list's rows: those whose columns contain the words of ``where``, of the period
    (when it has years) and of the area (a commune sees the things listed for it)."""
    for role, wanted in where.items():
        table = table[table[role].astype(str).str.contains(wanted, case=False, regex=False)]
    if "year" in table:
        table = in_period(table, s)
    if s.area not in top_areas() and "area_codes" in table:
        table = table[table["area_codes"].fillna("").str.split(";").map(lambda c: s.area in c)]
    return table
