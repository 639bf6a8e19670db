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
        return scope.t("text", "no_data_elsewhere", n=len(outside), years=", ".join(map(str, outside)), **values)
    return scope.t("text", "no_data_period", **values)


def _status(status: object, scope: Scope) -> str:
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
    shown[c("status")] = rows["status"].map(lambda s: _status(s, scope))
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
            c("status"): rows["status"].map(lambda s: _status(s, scope)),
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


def change_table(
    changes: pd.DataFrame, scope: Scope, refs: References, name: str, title: str, empty: str = ""
) -> Table:
    """Indicators known in both years: baseline, target, change, % change, average yearly growth, sources."""
    rows = changes[changes["complete"]].reset_index(drop=True)
    notes, c, lang = Notes(scope.lang), scope.col, scope.lang
    b, t = f"{c('baseline')} {scope.baseline}", f"{c('target')} {scope.target}"
    names = rows["indicator"].map(lambda i: labels.indicator_name(i, lang))
    shown = pd.DataFrame(
        {
            c("indicator"): names,
            b: [
                labels.fmt_value(v, u, lang, s)
                for v, u, s in zip(rows["baseline_value"], rows["unit"], rows["baseline_status"])
            ],
            t: [
                labels.fmt_value(v, u, lang, s)
                for v, u, s in zip(rows["target_value"], rows["unit"], rows["target_status"])
            ],
            c("change_abs"): [labels.fmt_change(v, lang, u) for v, u in zip(rows["change_abs"], rows["unit"])],
            c("change_pct"): [labels.fmt_change(v, lang, decimals=1) for v in rows["change_pct"]],
            c("cagr_pct"): [labels.fmt_change(v, lang, decimals=2) for v in rows["cagr_pct"]],
            c("source"): [
                _two_ends(refs.label(sb, rb, nb), refs.label(st, rt, nt), scope)
                for sb, rb, nb, st, rt, nt in zip(
                    rows["baseline_source"],
                    rows["baseline_ref"],
                    rows["baseline_note"],
                    rows["target_source"],
                    rows["target_ref"],
                    rows["target_note"],
                )
            ],
        }
    )
    marks = {}
    for i, (nb, nt) in enumerate(zip(rows["baseline_note"], rows["target_note"])):
        for column, note in ((b, nb), (t, nt)):
            if notes.mark(note):
                marks[(i, column)] = notes.mark(note)
    unit = rows["unit"].map(lambda u: labels.unit_label(u, lang))
    data = pd.DataFrame(
        {
            c("indicator"): names,
            c("unit"): unit,
            b: rows["baseline_value"].astype(float),
            f"{c('status')} {scope.baseline}": rows["baseline_status"].map(lambda s: _status(s, scope)),
            t: rows["target_value"].astype(float),
            f"{c('status')} {scope.target}": rows["target_status"].map(lambda s: _status(s, scope)),
            c("change_abs"): rows["change_abs"].astype(float),
            c("change_pct"): rows["change_pct"].astype(float),
            c("cagr_pct"): rows["cagr_pct"].astype(float),
            c("note"): [
                " ".join(x for x in (notes.texts(nb), notes.texts(nt)) if x)
                for nb, nt in zip(rows["baseline_note"], rows["target_note"])
            ],
            c("source"): [
                " | ".join(dict.fromkeys((refs.citation(sb, rb, nb), refs.citation(st, rt, nt))))
                for sb, rb, nb, st, rt, nt in zip(
                    rows["baseline_source"],
                    rows["baseline_ref"],
                    rows["baseline_note"],
                    rows["target_source"],
                    rows["target_ref"],
                    rows["target_note"],
                )
            ],
            c("place"): [f"{rb} | {rt}" for rb, rt in zip(rows["baseline_ref"], rows["target_ref"])],
        }
    )
    numeric = (b, t, c("change_abs"), c("change_pct"), c("cagr_pct"))
    return Table(
        name,
        title,
        shown,
        data,
        numeric=numeric,
        marks=marks,
        notes=notes.listed(),
        empty=empty,
        caption=scope.t("text", "area_of_table", area=scope.area_name()),
    )


def _two_ends(baseline: str, target: str, scope: Scope) -> str:
    """The sources of a change's two ends, one per line (once when they are the same place)."""
    return baseline if baseline == target else f"{scope.baseline}: {baseline}\n{scope.target}: {target}"


def latest_in_period(best: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """For indicators not known in both years: their latest value of the period (chosen source)."""
    complete = set(changes.loc[changes["complete"], "indicator"])
    rows = best[~best["indicator"].isin(complete) & ~best["indicator"].str.endswith((".increase", ".printed"))]
    return rows.sort_values("year").drop_duplicates(["indicator", "area_code"], keep="last")


def _shorten(table: pd.DataFrame, scope: Scope) -> tuple[pd.DataFrame, str]:
    hidden = len(table) - MAX_ROWS
    if hidden <= 0:
        return table, ""
    return table.head(MAX_ROWS), scope.t(
        "text", "rows_left_out", n=hidden, shown=MAX_ROWS, total=len(table), hidden=hidden
    )


NoteOf = dict  # (source_id, source_ref) → the observation's note: finds the web page a value came from


def notes_by_ref(obs: pd.DataFrame) -> NoteOf:
    return dict(zip(zip(obs["source_id"], obs["source_ref"]), obs["note"].fillna("")))


def _one_area(shown: pd.DataFrame, scope: Scope) -> tuple[pd.DataFrame, str]:
    """Drop an area column that names one area on every row; the caption names it once instead."""
    column = scope.col("area")
    if column in shown and len(shown) and shown[column].nunique() == 1:
        return shown.drop(columns=column), scope.t("text", "area_of_table", area=shown[column].iloc[0])
    return shown, ""


def findings_table(findings: pd.DataFrame, scope: Scope, refs: References, note_of: NoteOf) -> Table:
    """Validation findings of the period and area, each stated in the reader's language."""
    rows, more = _shorten(in_period(findings, scope).reset_index(drop=True), scope)
    c, lang = scope.col, scope.lang
    shown = pd.DataFrame(
        {
            c("check"): rows["check"].map(lambda k: scope.t("checks", k) if labels.has_text("checks", k) else k),
            c("indicator"): rows["indicator"].map(lambda i: labels.indicator_name(i, lang)),
            c("area"): rows["area_code"].map(scope.area_name),
            c("year"): rows["year"].astype(int).astype(str),
            c("message"): [finding_text(f, scope, refs, note_of) for _, f in rows.iterrows()],
            c("source"): [refs.label(s, r, note_of.get((s, r))) for s, r in zip(rows["source_id"], rows["source_ref"])],
        }
    )
    data = shown.assign(
        **{
            c("year"): rows["year"].astype(int),
            c("place"): rows["source_ref"],
            c("source"): [
                refs.citation(s, r, note_of.get((s, r))) for s, r in zip(rows["source_id"], rows["source_ref"])
            ],
        }
    )
    shown, caption = _one_area(shown, scope)
    return Table(
        "findings",
        scope.t("sections", "findings"),
        shown,
        data,
        numeric=(c("year"),),
        empty=scope.t("text", "no_findings"),
        more=more,
        caption=caption,
    )


def finding_text(f: pd.Series, scope: Scope, refs: References, note_of: NoteOf) -> str:
    """A finding in the reader's language, from its structured fields."""
    lang = scope.lang
    unit = f["unit"] if isinstance(f["unit"], str) else ""
    value = labels.fmt_value(f["value"], unit, lang)
    if f["check"] == "printed_ratio":
        expected = labels.fmt_number(f["expected"], lang, 3) + (
            f"\u00a0{labels.unit_label(unit, lang)}" if unit else ""
        )
    else:
        expected = labels.fmt_value(f["expected"], unit, lang)
    other = f["other"] if isinstance(f["other"], str) else ""
    if f["check"] == "same_value_other_year":
        other = _other_place(other, scope, refs, note_of)
    if not labels.has_text("finding_text", f["check"]):
        return str(f["message"])
    return scope.t("finding_text", f["check"], value=value, expected=expected, other=other)


def _other_place(other: str, scope: Scope, refs: References, note_of: NoteOf) -> str:
    """``public_facts 2021 (estimate, public_facts.csv:18 P17)`` → ``2021 ([2] P17, ước tính)``."""
    head, _, rest = other.partition(" (")
    parts = head.split()
    if len(parts) != 2 or not parts[1].isdigit():
        return other
    source, year = parts
    status, _, ref = rest.rstrip(")").partition(", ")
    word = _status(status, scope) if labels.has_text("status_short", status) else status
    return f"{year} ({refs.label(source, ref, note_of.get((source, ref)))}, {word})"


def conflicts_table(conflicts: pd.DataFrame, scope: Scope, refs: References, note_of: NoteOf) -> Table:
    """Values of other sources that disagree with the chosen one, in the period and area."""
    rows, more = _shorten(in_period(conflicts, scope).reset_index(drop=True), scope)
    c, lang = scope.col, scope.lang
    notes = Notes(lang)
    other_notes = [note_of.get((s, r)) for s, r in zip(rows["other_source"], rows["other_ref"])]
    chosen_notes = [None] * len(rows)  # conflicts.csv names the chosen value's source, not its place
    chosen = [
        labels.fmt_value(v, u, lang, s) for v, u, s in zip(rows["chosen_value"], rows["unit"], rows["chosen_status"])
    ]
    other = [
        labels.fmt_value(v, u, lang, s) for v, u, s in zip(rows["other_value"], rows["unit"], rows["other_status"])
    ]
    shown = pd.DataFrame(
        {
            c("indicator"): rows["indicator"].map(lambda i: labels.indicator_name(i, lang)),
            c("area"): rows["area_code"].map(scope.area_name),
            c("year"): rows["year"].astype(int).astype(str),
            c("chosen"): chosen,
            c("chosen_source"): [f"[{refs.number(s)}]" for s in rows["chosen_source"]],
            c("other_value"): other,
            c("other"): [
                refs.label(s, r, note_of.get((s, r))) for s, r in zip(rows["other_source"], rows["other_ref"])
            ],
        }
    )
    marks = {(i, c("other_value")): m for i, m in enumerate(map(notes.mark, other_notes)) if m}
    marks.update({(i, c("chosen")): m for i, m in enumerate(map(notes.mark, chosen_notes)) if m})
    data = pd.DataFrame(
        {
            c("indicator"): shown[c("indicator")],
            c("area"): shown[c("area")],
            c("year"): rows["year"].astype(int),
            c("unit"): rows["unit"].map(lambda u: labels.unit_label(u, lang)),
            c("chosen"): rows["chosen_value"].astype(float),
            c("chosen_status"): rows["chosen_status"].map(lambda s: _status(s, scope)),
            c("chosen_source"): [refs.citation(s) for s in rows["chosen_source"]],
            c("other_value"): rows["other_value"].astype(float),
            c("other_status"): rows["other_status"].map(lambda s: _status(s, scope)),
            c("other"): [
                refs.citation(s, r, n) for s, r, n in zip(rows["other_source"], rows["other_ref"], other_notes)
            ],
            c("place"): rows["other_ref"],
            c("note"): [
                " ".join(x for x in (notes.texts(a), notes.texts(b)) if x) for a, b in zip(chosen_notes, other_notes)
            ],
        }
    )
    shown, caption = _one_area(shown, scope)
    return Table(
        "conflicts",
        scope.t("sections", "conflicts"),
        shown,
        data,
        numeric=(c("year"), c("chosen"), c("other_value")),
        marks=marks,
        notes=notes.listed(),
        empty=scope.t("text", "no_conflicts"),
        more=more,
        caption=caption,
    )


def edition_table(changes: pd.DataFrame, scope: Scope, refs: References, note_of: NoteOf) -> Table:
    """Values new, revised or gone since the previous edition, in the period and area."""
    rows, more = _shorten(in_period(changes, scope).reset_index(drop=True), scope)
    c, lang = scope.col, scope.lang
    revision = rows["revision"].fillna("") if "revision" in rows else pd.Series("", index=rows.index)
    kind = [scope.t("edition_change", r or k) for k, r in zip(rows["change"], revision)]
    shown = pd.DataFrame(
        {
            c("change_kind"): kind,
            c("indicator"): rows["indicator"].map(lambda i: labels.indicator_name(i, lang)),
            c("area"): rows["area_code"].map(scope.area_name),
            c("year"): rows["year"].astype(int).astype(str),
            c("old_value"): [
                labels.fmt_value(v, u, lang, s) for v, u, s in zip(rows["old_value"], rows["unit"], rows["old_status"])
            ],
            c("new_value"): [
                labels.fmt_value(v, u, lang, s) for v, u, s in zip(rows["new_value"], rows["unit"], rows["new_status"])
            ],
            c("source"): [refs.label(s, r, note_of.get((s, r))) for s, r in zip(rows["source_id"], rows["source_ref"])],
        }
    )
    data = pd.DataFrame(
        {
            c("change_kind"): kind,
            c("indicator"): shown[c("indicator")],
            c("area"): shown[c("area")],
            c("year"): rows["year"].astype(int),
            c("unit"): rows["unit"].map(lambda u: labels.unit_label(u, lang)),
            c("old_value"): rows["old_value"].astype(float),
            c("new_value"): rows["new_value"].astype(float),
            c("source"): [
                refs.citation(s, r, note_of.get((s, r))) for s, r in zip(rows["source_id"], rows["source_ref"])
            ],
            c("place"): rows["source_ref"],
        }
    )
    shown, caption = _one_area(shown, scope)
    return Table(
        "edition-changes",
        scope.t("sections", "since_last_edition"),
        shown,
        data,
        numeric=(c("year"), c("old_value"), c("new_value")),
        more=more,
        caption=caption,
    )


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
        data[f"{c('status')}: {name_}"] = [_status(x, scope) for x in part["status"]]
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


def alt_points(rows: pd.DataFrame, scope: Scope, label: str = "year", limit: int = 12) -> str:
    """The values a chart draws, in words (for its alt text): ``2012: 3.407 t (tính toán); …``."""
    parts = []
    for r in rows.head(limit).itertuples():
        status = "" if r.status == "reported" else f" ({_status(r.status, scope)})"
        parts.append(f"{getattr(r, label)}: {labels.fmt_value(r.value, r.unit, scope.lang)}{status}")
    more = f"; … (+{len(rows) - limit})" if len(rows) > limit else ""
    return "; ".join(parts) + more + "."
