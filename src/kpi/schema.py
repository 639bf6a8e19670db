"""Every table the package reads, writes or hands on, defined once: columns, types, keys, descriptions.

The readers' cells, the rejects, the observations, findings, conflicts, changes and edition
differences are each one ``Table`` here.  The modules that make them take their column lists
from it (``OBSERVATIONS.columns``), ``kpi.validate`` checks a table against it (types, empty
values, closed vocabularies, ranges, the unique key) and ``kpi.ingest`` writes the data
package descriptor from it, so a column added here is added everywhere.

>>> OBSERVATIONS.key
('indicator', 'area_code', 'year', 'source_id')
>>> OBSERVATIONS.empty().dtypes["year"].name, list(REJECTS.empty().columns)
('int64', ['source_id', 'source_ref', 'field', 'raw_value', 'reason'])
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kpi import config

STATUSES = ("reported", "preliminary", "derived", "estimate", "lower_bound", "upper_bound")
MAX_MAGNITUDE = 1e12  # above any district or national figure in these units
FRICTIONLESS_TYPES = {"string": "string", "int64": "integer", "float64": "number", "bool": "boolean"}
PANDAS_TYPES = {"string": "str", "int64": "int64", "float64": "float64", "bool": "bool"}


@dataclass(frozen=True)
class Field:
    """One column: its type, what it means and what it may hold.

    ``vocabulary`` names a closed set: ``statuses`` (``STATUSES``) or one the reference tables
    give (``indicators``, ``areas``, ``units``), resolved by ``kpi.validate``.
    """

    name: str
    dtype: str  # string, int64, float64 or bool
    description: str
    required: bool = True  # an empty value is a failure
    vocabulary: str = ""
    low: float | None = None  # inclusive range of a number
    high: float | None = None
    below_magnitude: float | None = None  # |value| must stay below it


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()
    path: str = ""  # the file in processed/ ("" for a table that is not written)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def empty(self) -> pd.DataFrame:
        """No rows, every column of its type."""
        return pd.DataFrame({f.name: pd.Series(dtype=PANDAS_TYPES[f.dtype]) for f in self.fields})

    def frame(self, rows: list[dict] | list[tuple] | dict | None = None) -> pd.DataFrame:
        """Rows (dicts, tuples in column order, or columns) as this table: its columns, in order."""
        return pd.DataFrame(rows, columns=self.columns)

    def descriptor(self) -> dict:
        """The table as a Frictionless data-package resource: fields with types and descriptions, key."""
        resource = {
            "name": self.name,
            "path": self.path,
            "format": "csv",
            "encoding": "utf-8",
            "description": self.description,
            "schema": {
                "fields": [
                    {"name": f.name, "type": FRICTIONLESS_TYPES[f.dtype], "description": f.description}
                    for f in self.fields
                ]
            },
        }
        if self.key:
            resource["schema"]["primaryKey"] = list(self.key)
        return resource


def _text(name: str, description: str, required: bool = True, vocabulary: str = "") -> Field:
    return Field(name, "string", description, required=required, vocabulary=vocabulary)


OBSERVATIONS = Table(
    "observations",
    "One value per indicator, area, year and source, in the catalogue unit, with its status and exact place",
    (
        _text("indicator", "Indicator id from the catalogue (data/reference/indicators.csv)", vocabulary="indicators"),
        _text(
            "area_code",
            "Statistical code of the area: 106 Tam Đường district, five digits for a commune",
            vocabulary="areas",
        ),
        _text("area_name", "Official Vietnamese name of the area (NFC)"),
        Field("year", "int64", "Year the value refers to", low=config.MIN_YEAR, high=config.MAX_YEAR),
        Field("value", "float64", "Value in the catalogue unit", below_magnitude=MAX_MAGNITUDE),
        _text("unit", "Canonical unit code (t, ha, t/ha, m3, facility, ...)", vocabulary="units"),
        _text(
            "status",
            "reported, preliminary (printed as sơ bộ, to be replaced by the official figure), derived (computed "
            "from printed figures), estimate, lower_bound or upper_bound",
            vocabulary="statuses",
        ),
        _text("source_id", "Raw source (one provenance record each)"),
        _text(
            "source_ref",
            "Exact place: file.xlsx!Sheet!C7, file.csv:12 with the report passage, or the inputs of a derivation",
        ),
        _text("note", "Free text: quotes, base years, how a value was derived", required=False),
    ),
    key=("indicator", "area_code", "year", "source_id"),
    path="observations.csv",
)

CELLS = Table(
    "cells",
    "A value cell as a reader found it, before cleaning (not written: cleaning turns it into an observation "
    "or a reject)",
    (
        _text("source_id", "Raw source"),
        _text("source_ref", "Place of the cell"),
        _text("indicator", "Indicator id of its column"),
        _text("area_raw", "Area as written in its row"),
        Field("year_raw", "string", "Year of its column, sheet or row, as written", required=False),
        Field("raw_value", "string", "The cell's value as read", required=False),
        _text("unit_raw", "Unit of its column, as written", required=False),
        Field("base_year", "string", "Year an increase is measured from", required=False),
        _text("note", "Note of its column", required=False),
        _text("status", "Status typed in its row (a form's status column)", required=False),
    ),
)

REJECTS = Table(
    "rejects",
    "Every value that could not be used, with its place, its raw value and the reason",
    (
        _text("source_id", "Raw source"),
        _text("source_ref", "Place of the rejected value"),
        _text("field", "What was wrong: value, area, year, unit, row, column, merged, formula, line …"),
        _text("raw_value", "The value as typed", required=False),
        _text("reason", "Why it was rejected, and what to do"),
    ),
    path="rejects.csv",
)

FINDINGS = Table(
    "findings",
    "Consistency findings: a printed share against its parts, communes against the district total, declared "
    "identities, the same value given for two years",
    (
        _text("check", "Which check: printed_ratio, breakdown_sum, identity, same_value_other_year"),
        _text("indicator", "Indicator id"),
        _text("area_code", "Area code"),
        Field("year", "int64", "Year"),
        _text("source_id", "Source of the printed figure"),
        _text("source_ref", "Place of the printed figure"),
        _text("unit", "Unit", required=False),
        Field("value", "float64", "The figure as printed", required=False),
        Field("expected", "float64", "What its parts give", required=False),
        _text("other", "The other side: the parts, or the other year of an echo", required=False),
        _text("message", "The finding in words (English; reports say it in their language)"),
    ),
    path="findings.csv",
)

CONFLICTS = Table(
    "conflicts",
    "Values of other sources that disagree with the chosen one beyond 1 % (bounds respected)",
    (
        _text("indicator", "Indicator id"),
        _text("area_code", "Area code"),
        Field("year", "int64", "Year"),
        _text("unit", "Unit"),
        _text("chosen_source", "Source of the chosen value (by priority, then status)"),
        Field("chosen_value", "float64", "The chosen value"),
        _text("chosen_status", "Its status"),
        _text("other_source", "The disagreeing source"),
        Field("other_value", "float64", "Its value"),
        _text("other_status", "Its status"),
        _text("other_ref", "Its place"),
        Field("relative_difference", "float64", "|other − chosen| / max(|other|, |chosen|)"),
        _text("message", "The conflict in words (English)"),
    ),
    path="conflicts.csv",
)

CHANGES = Table(
    "changes",
    "Two-period comparison per indicator and area: both ends with statuses and sources, absolute and % change, "
    "average yearly growth (kpi build and kpi.compare take other years)",
    (
        _text("indicator", "Indicator id"),
        _text("area_code", "Area code"),
        _text("area_name", "Area name in the target year's units"),
        _text("unit", "Unit"),
        Field("baseline_year", "int64", "Baseline year"),
        Field("baseline_value", "float64", "Baseline value (empty when missing)", required=False),
        _text("baseline_status", "Its status, or missing"),
        _text("baseline_source", "Its source", required=False),
        _text("baseline_ref", "Its place", required=False),
        Field("target_year", "int64", "Target year"),
        Field("target_value", "float64", "Target value (empty when missing)", required=False),
        _text("target_status", "Its status, or missing"),
        _text("target_source", "Its source", required=False),
        _text("target_ref", "Its place", required=False),
        Field("change_abs", "float64", "Target − baseline", required=False),
        Field("change_pct", "float64", "Change in % of the baseline", required=False),
        Field("cagr_pct", "float64", "Compound average yearly growth, %", required=False),
        Field("complete", "bool", "Both ends known"),
        _text("baseline_note", "Note of the baseline value", required=False),
        _text("target_note", "Note of the target value", required=False),
    ),
    path="changes.csv",
)

EDITION_INDEX = Table(
    "editions",
    "The editions kept (data/editions/index.csv): data version and when it was first built",
    (_text("data_version", "Data version (a hash of the observations)"), _text("built_at", "When")),
)

EDITION_CHANGES = Table(
    "edition_changes",
    "Values new, revised or gone since the previous edition",
    (
        *(OBSERVATIONS.field(name) for name in OBSERVATIONS.key),
        _text("unit", "Unit"),
        _text("change", "new, revised or gone"),
        Field("old_value", "float64", "Value in the previous edition", required=False),
        Field("new_value", "float64", "Value in this edition", required=False),
        _text("old_status", "Status in the previous edition", required=False),
        _text("new_status", "Status in this edition", required=False),
        _text("source_ref", "Place", required=False),
        _text(
            "revision",
            "preliminary_confirmed or preliminary_replaced when an official figure replaced a preliminary one",
            required=False,
        ),
    ),
    key=OBSERVATIONS.key,
)

SOURCES = Table(
    "sources",
    "The raw sources with their declared priority and provenance",
    (
        _text("source_id", "Source id"),
        Field("priority", "int64", "1 = the report's printed figures, 2 = counts from its lists, 3 = other sources"),
        _text("title", "Title"),
        _text("file", "Raw file"),
        _text("layout", "Layout it is read with"),
        _text("sha256", "Checksum of the raw file"),
        _text("source", "Issuer or origin", required=False),
        _text("section", "Where in the source", required=False),
        _text("url", "Public address", required=False),
        _text("accessed", "When it was read", required=False),
    ),
    key=("source_id",),
    path="sources.csv",
)

WRITTEN = (OBSERVATIONS, CHANGES, REJECTS, FINDINGS, CONFLICTS, SOURCES)  # processed/, in the descriptor's order
