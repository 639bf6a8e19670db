"""Views of what the checks found, in one language: findings, source conflicts, edition changes.

Like ``kpi.views`` (whose ``Scope``, ``Table`` and ``Notes`` they use), pure functions from
the processed tables to labelled tables of the chosen period and area; a finding or a
conflict is stated from its structured fields in the reader's language, with the caveat of
a figure beside it, and an area named on every row only when the rows are of several.
"""

from __future__ import annotations

import pandas as pd

from kpi import labels
from kpi.cite import References
from kpi.views import MAX_ROWS, Notes, Scope, Table, in_period, of_area, status_text


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
        empty_means_no_data=False,
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
    word = status_text(status, scope) if labels.has_text("status_short", status) else status
    return f"{year} ({refs.label(source, ref, note_of.get((source, ref)))}, {word})"


def conflicts_table(conflicts: pd.DataFrame, scope: Scope, refs: References, note_of: NoteOf) -> Table:
    """Values of other sources that disagree with the chosen one, in the period and area."""
    rows, more = _shorten(in_period(conflicts, scope).reset_index(drop=True), scope)
    c, lang = scope.col, scope.lang
    notes = Notes(lang)
    other_notes = [note_of.get((s, r)) for s, r in zip(rows["other_source"], rows["other_ref"])]
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
    # caveats are those of the other value: conflicts.csv names the chosen value's source, not its place
    marks = {(i, c("other_value")): m for i, m in enumerate(map(notes.mark, other_notes)) if m}
    data = pd.DataFrame(
        {
            c("indicator"): shown[c("indicator")],
            c("area"): shown[c("area")],
            c("year"): rows["year"].astype(int),
            c("unit"): rows["unit"].map(lambda u: labels.unit_label(u, lang)),
            c("chosen"): rows["chosen_value"].astype(float),
            c("chosen_status"): rows["chosen_status"].map(lambda s: status_text(s, scope)),
            c("chosen_source"): [refs.citation(s) for s in rows["chosen_source"]],
            c("other_value"): rows["other_value"].astype(float),
            c("other_status"): rows["other_status"].map(lambda s: status_text(s, scope)),
            c("other"): [
                refs.citation(s, r, n) for s, r, n in zip(rows["other_source"], rows["other_ref"], other_notes)
            ],
            c("place"): rows["other_ref"],
            c("note"): [notes.texts(n) for n in other_notes],
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
        empty_means_no_data=False,
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


def edition_block(previous: str | None, changes: pd.DataFrame, s: Scope, refs, note_of: dict) -> tuple:
    """What the overview says of the previous edition: (sentence, its style, table of changes or None)."""
    if previous is None:
        return s.t("text", "first_edition"), "empty", None
    changes = of_area(changes, s, children=True)
    shown = in_period(changes, s)
    if shown.empty:
        return s.t("text", "no_edition_changes", previous=previous), "empty", None
    counts = shown["change"].value_counts()
    summary = ", ".join(f"{s.t('edition_change', k)}: {counts[k]}" for k in counts.index)
    intro = s.t("text", "edition_summary", previous=previous, summary=summary)
    return intro, "intro", edition_table(changes, s, refs, note_of)
