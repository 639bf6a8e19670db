"""Source layouts as typed objects: what ``data/reference/layouts/<id>.yml`` says, checked once.

A layout is data (in the spirit of PUDL's column maps): which sheets or columns hold which
indicator, where the header is, what the TOTAL row stands for.  ``load`` reads the YAML, fills
a form's columns from the catalogue and returns a frozen ``Layout``; a layout that lacks what
its kind needs is one ``ReferenceDataError`` naming the file and the key, before any raw file
is read.

Three kinds, one reader each (``kpi.extract``, ``kpi.csvread``):

* ``workbook``: sheets (``SheetLayout``) with header rows, a unit row, an area column and value
  columns (``ColumnMap``) found by header text; ``total_area`` is the area its TOTAL row stands for;
* ``records``: a CSV with one figure per line, columns mapped to roles (``columns``);
* ``list``: a CSV of named things kept as a table (``table``), with counts made over it
  (``aggregates``) for the area ``area``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from kpi import config
from kpi.errors import ReferenceDataError

KINDS = ("workbook", "records", "list")


@dataclass(frozen=True)
class ColumnMap:
    """One column of a sheet: found by its header text; what its values are."""

    header: str
    indicator: str = ""
    year: int | None = None  # the year of its values (else the sheet's year cell)
    base_year: int | None = None  # for an increase: the year it is measured from
    unit: str = ""  # when the sheet has no unit row
    note: str = ""


@dataclass(frozen=True)
class SheetLayout:
    sheet: str
    theme: str
    header_rows: tuple[int, ...]
    area: ColumnMap
    columns: tuple[ColumnMap, ...]
    unit_row: int | None = None
    status: ColumnMap | None = None
    ignore: tuple[str, ...] = ()
    year: int | None = None

    @property
    def first_body_row(self) -> int:
        """1-based row under which the table body starts (the unit row, else the last header row)."""
        return self.unit_row if self.unit_row else self.header_rows[-1]


@dataclass(frozen=True)
class Aggregate:
    """A count (or sum of ``column``) over a list's rows, as one derived figure per year."""

    indicator: str
    op: str  # count or sum
    where: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    column: str = ""


@dataclass(frozen=True)
class Layout:
    id: str
    kind: str
    complete_breakdown: bool = False  # communes not listed have none (their sum is the total)
    title: str = ""
    # workbook
    sheets: tuple[SheetLayout, ...] = ()
    total_area: str = ""
    total_labels: tuple[str, ...] = ()
    year_cell: str = ""
    status_choices: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    instructions_sheet: str = ""
    # records and list
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # role → CSV column
    optional: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    note_roles: tuple[str, ...] = ("note",)
    table: str = ""
    area: str = ""
    numbers: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))  # role → unit role
    aggregates: tuple[Aggregate, ...] = ()


def _problem(path: Path, what: str) -> ReferenceDataError:
    return ReferenceDataError(f"layout {path.name}: {what}")


def _column(raw: object, path: Path, where: str) -> ColumnMap:
    if not isinstance(raw, dict) or not isinstance(raw.get("header"), str):
        raise _problem(path, f"{where}: expected a mapping with a 'header', got {raw!r}")
    known = {"header", "indicator", "year", "base_year", "unit", "note"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _problem(path, f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return ColumnMap(**{k: (str(v) if k in ("unit", "note") else v) for k, v in raw.items()})


def _sheet(raw: dict, path: Path, number: int) -> SheetLayout:
    where = f"sheet {number} ({raw.get('sheet', '?')})"
    for key in ("sheet", "theme", "header_rows", "area"):
        if key not in raw:
            raise _problem(path, f"{where}: '{key}' is missing")
    return SheetLayout(
        sheet=str(raw["sheet"]),
        theme=str(raw["theme"]),
        header_rows=tuple(int(r) for r in raw["header_rows"]),
        area=_column(raw["area"], path, f"{where} area"),
        columns=tuple(_column(c, path, f"{where} column {i}") for i, c in enumerate(raw.get("columns", []), 1)),
        unit_row=raw.get("unit_row"),
        status=_column(raw["status"], path, f"{where} status") if raw.get("status") else None,
        ignore=tuple(raw.get("ignore", [])),
        year=raw.get("year"),
    )


def parse(raw: dict, path: Path, catalogue_columns: dict[str, list[tuple[str, str]]] | None = None) -> Layout:
    """A layout from its YAML mapping; ``catalogue_columns`` (theme → (header, indicator)) fills a form's sheets."""
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        raise _problem(path, f"'kind' must be one of {', '.join(KINDS)}")
    kind = raw["kind"]
    common = {
        "id": str(raw.get("id") or path.stem),
        "kind": kind,
        "complete_breakdown": bool(raw.get("complete_breakdown", False)),
        "title": str(raw.get("title", "")),
    }
    if kind == "workbook":
        defaults = raw.get("sheet_defaults", {})
        sheets = []
        for number, given in enumerate(raw.get("sheets", []), 1):
            sheet = {**copy.deepcopy(defaults), **given}
            if raw.get("columns_from_catalogue"):
                pairs = (catalogue_columns or {}).get(sheet.get("theme"), [])
                sheet["columns"] = [{"header": h, "indicator": i} for h, i in pairs]
            sheets.append(_sheet(sheet, path, number))
        if not sheets:
            raise _problem(path, "a workbook layout needs 'sheets'")
        if raw.get("total_labels") and not raw.get("total_area"):
            raise _problem(path, "'total_labels' name a TOTAL row, so 'total_area' must say which area it is")
        return Layout(
            **common,
            sheets=tuple(sheets),
            total_area=str(raw.get("total_area", "")),
            total_labels=tuple(raw.get("total_labels", [])),
            year_cell=str(raw.get("year_cell", "")),
            status_choices=MappingProxyType(dict(raw.get("status_choices", {}))),
            instructions_sheet=str(raw.get("instructions_sheet", "")),
        )
    if not isinstance(raw.get("columns"), dict):
        raise _problem(path, f"a {kind} layout needs 'columns' (role: CSV column)")
    if kind == "list" and not (raw.get("table") and raw.get("area")):
        raise _problem(path, "a list layout needs 'table' (its name) and 'area' (what its counts are for)")
    return Layout(
        **common,
        columns=MappingProxyType({str(k): str(v) for k, v in raw["columns"].items()}),
        optional=tuple(raw.get("optional", [])),
        extra=tuple(raw.get("extra", [])),
        note_roles=tuple(raw.get("note_roles", ["note"])),
        table=str(raw.get("table", "")),
        area=str(raw.get("area", "")),
        numbers=MappingProxyType(dict(raw.get("numbers", {}))),
        aggregates=tuple(
            Aggregate(a["indicator"], a["op"], MappingProxyType(dict(a.get("where", {}))), a.get("column", ""))
            for a in raw.get("aggregates", [])
        ),
    )


def load(layout_id: str) -> Layout:
    """The layout ``layouts/<id>.yml`` of the reference folder (read again when the file changes)."""
    path = config.reference_dir() / "layouts" / f"{layout_id}.yml"
    if not path.exists():
        raise ReferenceDataError(f"layout {layout_id!r} not found: expected {path.name} in the layouts folder")
    return _load(path, path.stat().st_mtime_ns, config.reference_dir())


@functools.lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int, folder: Path) -> Layout:
    from kpi import reference

    with path.open(encoding="utf-8") as fh:
        raw = reference.read_yaml(fh.read())
    return parse(raw, path, reference.form_columns())


def every() -> list[Layout]:
    """Every layout of the reference folder, by id."""
    folder = config.reference_dir() / "layouts"
    return [load(p.stem) for p in sorted(folder.glob("*.yml"))]
