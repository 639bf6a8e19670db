"""``kpi check <file>``: every problem of a workbook or CSV before it is added to ``data/raw/``.

Runs the same reader and cleaning as ``kpi ingest`` on one file without writing anything:
header drift against the known layouts (missing, unknown or renamed columns, with the
closest known header), unknown area names (with the closest known name), values that are
not numbers, units that disagree -- all at once, each with its sheet and A1 cell or line.
The file can be ingested when the report is empty (exit code 0).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kpi import config, reference
from kpi.clean import clean_cells
from kpi.errors import KpiError, SourceError
from kpi.extract import READERS, REJECT_COLUMNS, cells_frame, open_workbook, read_csv_text, sniff_delimiter
from kpi.text import nfc
from kpi.reference import SourceRecord


@dataclass
class CheckReport:
    path: Path
    layout: str
    problems: list[str] = field(default_factory=list)
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    values: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.rejects.empty

    def lines(self) -> list[str]:
        head = f"{self.path.name} (layout {self.layout}): "
        if self.ok:
            return [head + f"OK, {self.values} values can be ingested"]
        out = [head + f"{len(self.problems) + len(self.rejects)} problem(s)"]
        out += [f"  - {p}" for p in self.problems]
        out += [f"  - {line}" for line in grouped(self.rejects)]
        return out


def grouped(rejects: pd.DataFrame) -> list[str]:
    """One line per reason and sheet: the cells that share it as a range (E6:E19) or a list.

    >>> grouped(pd.DataFrame({"source_ref": ["f.xlsx!S!E6", "f.xlsx!S!E7", "f.csv:3"], "raw_value": ["1", "2", "x"],
    ...     "reason": ["no header", "no header", "not a number"]}))
    ["f.xlsx!S!E6:E7 (2 values, first '1'): no header", "f.csv:3: 'x': not a number"]
    """
    lines, order = [], {}
    for r in rejects.itertuples():
        place, _, cell = r.source_ref.rpartition("!")
        key = (place, r.reason) if place else (r.source_ref, r.reason)
        order.setdefault(key, []).append((cell if place else "", r.raw_value))
    for (place, reason), cells in order.items():
        if len(cells) == 1 or not cells[0][0]:
            lines += [f"{place}{'!' + c if c else ''}: {v!r}: {reason}" for c, v in cells]
            continue
        names = [c for c, _ in cells]
        cols = {re.sub(r"\d", "", c) for c in names}
        rows = {re.sub(r"\D", "", c) for c in names}
        span = f"{names[0]}:{names[-1]}" if len(cols) == 1 or len(rows) == 1 else ", ".join(names[:4]) + (
            ", …" if len(names) > 4 else "")
        lines.append(f"{place}!{span} ({len(cells)} values, first {cells[0][1]!r}): {reason}")
    return lines


def layouts_of_kind(kinds: tuple[str, ...], ref_dir: Path | None = None) -> list[dict]:
    folder = (ref_dir or config.REFERENCE_DIR) / "layouts"
    specs = (reference.layout(path.stem, ref_dir) for path in sorted(folder.glob("*.yml")))
    return [spec for spec in specs if spec.get("kind") in kinds]


def guess_layout(path: Path, ref_dir: Path | None = None) -> str:
    """The workbook layout whose sheet names the file shares most (or the CSV layout by header)."""
    if path.suffix.lower() == ".csv":
        text = read_csv_text(path)  # the same decoding as ingest: BOM, UTF-16, Windows-1258
        header = next(csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)), [])
        columns = {nfc(h) for h in header}
        specs = layouts_of_kind(("records", "list"), ref_dir)
        best = max(specs, key=lambda s: len(columns & set(s["columns"].values())))
        return best["id"]
    names = set(open_workbook(path).sheet_names)
    specs = layouts_of_kind(("workbook",), ref_dir)
    scored = sorted(specs, key=lambda s: -len(names & {sh["sheet"] for sh in s["sheets"]}))
    return scored[0]["id"]


def check_file(path: str | Path, layout_id: str | None = None, ref_dir: Path | None = None) -> CheckReport:
    """Check one file against its layout; nothing is written."""
    path = Path(path)
    if not path.is_file():
        raise KpiError(f"{path}: no such file")
    layout_id = layout_id or guess_layout(path, ref_dir)
    spec = reference.layout(layout_id, ref_dir)
    report = CheckReport(path, layout_id)
    record = SourceRecord(path, {"source_id": path.stem, "layout": layout_id})
    try:
        out = READERS[spec["kind"]](record, spec)
    except SourceError as exc:
        report.problems = exc.problems
        return report
    report.problems = list(out.problems)
    cleaned = clean_cells(cells_frame([out]), ref_dir)
    report.rejects = pd.concat([pd.DataFrame(out.rejects, columns=REJECT_COLUMNS), cleaned.rejects], ignore_index=True)
    report.values = len(cleaned.observations)
    return report
