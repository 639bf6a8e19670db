"""A workbook as a whole: opened with calamine after the safety checks, and what is said about it
before or beside its tables -- it is empty, or holds only formula errors; a value lies far from
the table; its sheets give a year other than its file name or provenance record.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

from kpi import safety
from kpi.cells import Extracted, cell_text, listed
from kpi.errors import SourceError, cell_ref
from kpi.extent import MAX_SHEET_CELLS, Extent
from kpi.reference import SourceRecord

YEAR_IN_NAME = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")  # a year written in a file name, id or title
SUFFIXES = {"xlsx": ".xlsx", "ods": ".ods", "xls": ".xls"}


def reader_failure(exc: BaseException) -> bool:
    """True for what calamine raises on a bad file: its own errors, and pyo3's PanicException
    (a BaseException, not an Exception) when its Rust code panics."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _calamine_reason(checked: safety.CheckedWorkbook, exc: BaseException) -> str:
    """calamine's own reason for refusing the file.  Given bytes it only says "Cannot detect file
    format" after trying every format; given a file named by its kind it says what is wrong."""
    from python_calamine import CalamineWorkbook

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / f"checked{SUFFIXES[checked.kind]}"
        copy.write_bytes(checked.data)
        try:
            CalamineWorkbook.from_path(copy).close()
        except BaseException as specific:
            if not reader_failure(specific):
                raise
            return str(specific)
    return str(exc)


def open_checked(path: Path) -> tuple[object, safety.CheckedWorkbook]:
    """Check a workbook (``kpi.safety``), then open the checked bytes with calamine."""
    from python_calamine import CalamineWorkbook, PasswordError

    checked = safety.check_workbook(path)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(checked.data)), checked
    except PasswordError:
        raise SourceError(path.name, [safety.PASSWORD]) from None
    except BaseException as exc:
        if not reader_failure(exc):
            raise
        reason = _calamine_reason(checked, exc)
        raise SourceError(path.name, [f"cannot be read as a workbook: {reason}; {safety.SAVE_AS_XLSX}"]) from None


def open_workbook(path: Path):
    """Open a workbook with calamine after the safety checks; a bad file is a SourceError naming it."""
    return open_checked(path)[0]


def sheet_rows(sheet) -> list[list]:
    """All rows of a sheet from A1 (empty leading rows and columns kept, so A1 refs hold)."""
    return sheet.to_python(skip_empty_area=False)


def far_values(out: Extracted, file: str, name: str, found: Extent | None, problems: list[str]) -> bool:
    """Report what ``kpi.extent`` cut out of a sheet: far values as rejects (address and value), a
    sheet too large to read as a problem.  Returns whether the sheet can be read."""
    if found is None:
        return True
    if found.too_large:
        top, left, bottom, right = found.block
        problems.append(
            f"sheet {name!r}: its values spread over {found.span} ({bottom - top + 1:,} rows × "
            f"{right - left + 1:,} columns), above the {MAX_SHEET_CELLS:,} cells one sheet may span "
            "(MAX_SHEET_CELLS); it is not read: delete what lies outside the table (Excel: Ctrl+End "
            "goes to the last cell a sheet uses)"
        )
        return False
    reason = (
        f"a value far from the table, whose values are in {found.span}: it is not read; delete it or move it "
        "into the table (Excel: Ctrl+End goes to the last cell a sheet uses)"
    )
    for stray in found.strays:
        out.reject(f"{file}!{name}!{stray.ref}", "position", stray.raw, reason)
    more = found.stray_count - len(found.strays)
    if more > 0:
        last = found.strays[-1]
        out.reject(
            f"{file}!{name}!{last.ref}…",
            "position",
            "",
            f"and {more:,} more values far from the table, after {last.ref}: none is read; delete them",
        )
    return True


def emptiness(wb, checked: safety.CheckedWorkbook) -> str | None:
    """Why the workbook gives nothing to read -- no cell at all, or only formulas whose results are
    errors (``#DIV/0!``) or missing -- or None when a sheet holds a value."""
    for name in wb.sheet_names:
        try:
            rows = sheet_rows(wb.get_sheet_by_name(name))
        except BaseException as exc:
            if not reader_failure(exc):
                raise
            return None
        if any(cell_text(v) for row in rows for v in row):
            return None
    marked = [
        (name, cell, text)
        for name, marks in checked.all_marks().items()
        for cell, text in sorted({**marks.formulas, **marks.errors}.items())
    ]
    if marked:
        first = [f"{name}!{cell_ref(*cell)} {text}" for name, cell, text in marked]
        return (
            f"the workbook holds no figures, only formulas whose results are errors or missing ({listed(first, 3)}):"
            " open it in Excel or LibreOffice, correct the formulas or type the figures, and save it again"
        )
    return f"the workbook is empty: none of its sheets ({listed(wb.sheet_names)}) holds a cell; is it the right file?"


def stated_years(record: SourceRecord) -> dict[str, set[int]]:
    """The years a file's name and its provenance record (id, title) name, by where they are named.

    >>> rec = SourceRecord(Path("tam_duong_2024.xlsx"), {"source_id": "tam_duong_2024", "title": "Form 2024"})
    >>> stated_years(rec)
    {'file name': {2024}, 'provenance record': {2024}}
    """
    named = {"file name": record.path.stem}
    if not record.meta.get("no_record"):  # `kpi check` on a file with no provenance record beside it
        named["provenance record"] = f"{record.meta.get('source_id', '')} {record.meta.get('title', '')}"
    found = {where: {int(y) for y in YEAR_IN_NAME.findall(text)} for where, text in named.items()}
    return {where: years for where, years in found.items() if years}


def year_problems(record: SourceRecord, years: dict[str, int]) -> list[str]:
    """The form's year (the year cell of each sheet: sheet → year) against itself and against the
    years its file name and provenance record name: last year's form filed under this year's name
    would put last year's figures under this year, or twice under last year."""
    if not years:
        return []
    distinct = sorted(set(years.values()))
    if len(distinct) > 1:
        given = ", ".join(f"{sheet} {year}" for sheet, year in years.items())
        return [f"the sheets give different years in their year cell ({given}): one form holds one year"]
    year = distinct[0]
    where_sheet = next(iter(years))
    return [
        f"the form's year is {year} (sheet {where_sheet!r}) but its {where} says {listed(sorted(map(str, named)))}: "
        f"is it the {year} form filed under another year's name? Correct the year cell, or the file name and its "
        "provenance record"
        for where, named in stated_years(record).items()
        if year not in named
    ]
