"""Excel 97-2003 workbooks (.xls): checked, their far values cut out, then read like .xlsx.

District and provincial offices still send .xls files.  Their values are read by calamine,
as for any workbook; what calamine does not report -- hidden rows and columns, merged cells,
error values -- comes from xlrd, a maintained .xls reader (``formatting_info=True``), so the
same cells are rejected for the same reasons as in .xlsx.

An .xls is a Compound File (OLE2) holding a ``Workbook`` stream (``Book`` in Excel 5/95; any
case, as some programs write ``WORKBOOK``) of BIFF records.  calamine reads every sheet of an
.xls as soon as it opens it, each as one dense block, so before it does, the cell records of
each sheet are located by walking the records (positions only) and far values are cut out as
for .xlsx (``kpi.extent``): in a copy of the file, their records get a record type every
reader skips (``SKIPPED_RECORD``); nothing moves, so every other offset in the file holds.
"""

from __future__ import annotations

import io
import struct
from dataclasses import replace
from pathlib import Path

from kpi import extent
from kpi.marks import SheetMarks
from kpi.safety import PASSWORD, SAVE_AS_XLSX, CheckedWorkbook, refuse

WORKBOOK_STREAMS = ("workbook", "book")  # BIFF8 (Excel 97-2003) and BIFF5 (Excel 5/95), in any case
BOF, EOF, FILEPASS, BOUNDSHEET, STRING = 0x0809, 0x000A, 0x002F, 0x0085, 0x0207
VALUE_RECORDS = {
    0x0203: "NUMBER",
    0x027E: "RK",
    0x00FD: "LABELSST",
    0x0204: "LABEL",
    0x00D6: "RSTRING",
    0x0205: "BOOLERR",
    0x0006: "FORMULA",
}
MULRK = 0x00BD  # several RK values in one row: row, first column, ..., last column
SKIPPED_RECORD = 0x7FFF  # no BIFF record has this type: readers skip it
OTHER_STREAMS = {
    "worddocument": "a Word 97-2003 document (.doc)",
    "powerpoint document": "a PowerPoint 97-2003 presentation (.ppt)",
}


def _damaged(path: Path, what: str):
    return refuse(path, f"damaged: {what}; copy the file again from its source, or {SAVE_AS_XLSX}")


def _compound(path: Path, data: bytes):
    from xlrd import compdoc

    try:
        return compdoc.CompDoc(data, logfile=io.StringIO())
    except (compdoc.CompDocError, IndexError, ValueError, struct.error, AssertionError) as exc:
        raise _damaged(path, f"its Compound File structure is broken ({exc})") from None


def check(path: Path, data: bytes) -> CheckedWorkbook:
    """A Compound File: an encrypted .xlsx, or an .xls whose far values are cut out; else refused by name."""
    doc = _compound(path, data)
    names = {d.name.lower(): d for d in doc.dirlist if d.etype == 2}
    if "encryptedpackage" in names:
        raise refuse(path, PASSWORD)
    node = next((names[n] for n in WORKBOOK_STREAMS if n in names), None)
    if node is None:
        what = next(
            (w for n, w in OTHER_STREAMS.items() if n in names),
            "an older Office file (OLE2) that holds no workbook (a .doc?)",
        )
        raise refuse(path, f"{what}; {SAVE_AS_XLSX}")
    try:
        stream = doc.get_named_stream(node.name)
    except Exception as exc:  # noqa: BLE001 -- xlrd's compdoc raises bare exceptions and assertions on broken chains
        raise _damaged(path, f"its workbook stream cannot be followed ({exc})") from None
    sheets = _sheet_offsets(path, stream)
    book = CheckedWorkbook(path, "xls", data)
    strings = SharedStrings(data)
    patched = bytearray()
    for name, offset in sheets:
        cells, records = _sheet_cells(path, stream, offset)
        planned = extent.plan(cells)
        if not planned:
            continue
        cut, found = planned
        value = lambda i, c=cells: _record_value(stream, c.start[i], strings)
        book.extents[name] = found if found.too_large else replace(found, strays=extent.strays_of(cells, cut, value))
        if not patched:
            patched = bytearray(data)
        _skip_records(patched, doc, node, stream, sorted({records[i] for i in cut}))
    if patched:
        book.data = bytes(patched)
    book.load_marks = lambda: xlrd_marks(path, book.data, [name for name, _ in sheets])
    return book


def _records(stream: bytes, pos: int):
    """(offset, type, data) of the BIFF records from ``pos`` on, until the stream ends."""
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        yield pos, kind, stream[pos + 4 : pos + 4 + size]
        pos += 4 + size


def _sheet_offsets(path: Path, stream: bytes) -> list[tuple[str, int]]:
    """(name, offset of its BOF) of every sheet, from the BOUNDSHEET records of the workbook globals."""
    if len(stream) < 8 or struct.unpack_from("<H", stream)[0] & 0xFF != BOF & 0xFF:
        raise _damaged(path, "its workbook stream does not start with a BIFF beginning-of-file record")
    biff8 = struct.unpack_from("<H", stream, 4)[0] >= 0x0600
    sheets = []
    for _, kind, body in _records(stream, 0):
        if kind == FILEPASS:
            raise refuse(path, PASSWORD)
        if kind == BOUNDSHEET and len(body) >= 8:
            sheets.append((_sheet_name(body, biff8), struct.unpack_from("<I", body)[0]))
        if kind == EOF:
            return sheets
    raise _damaged(path, "its workbook stream is cut short (no end-of-file record after the workbook globals)")


def _sheet_name(body: bytes, biff8: bool) -> str:
    """A BOUNDSHEET record's sheet name: 8-bit or UTF-16 in BIFF8, the file's code page before."""
    count = body[6]
    if not biff8:
        return body[7 : 7 + count].decode("cp1252", "replace")
    wide = body[7] & 0x01
    raw = body[8 : 8 + count * (2 if wide else 1)]
    return raw.decode("utf-16-le" if wide else "latin-1", "replace")


def _sheet_cells(path: Path, stream: bytes, offset: int) -> tuple[extent.Cells, list[int]]:
    """The value records of one sheet as cells, and each cell's record offset (a STRING record
    after a FORMULA goes with it)."""
    cells, records = extent.Cells(), []
    if offset >= len(stream):
        raise _damaged(path, f"a sheet starts at byte {offset:,}, past the end of its workbook stream")
    for pos, kind, body in _records(stream, offset):
        if kind == EOF:
            break
        if kind in VALUE_RECORDS and len(body) >= 4:
            row, col = struct.unpack_from("<HH", body)
            cells.add(row, col, 1, 1, pos, pos + 4 + len(body))
            records.append(pos)
        elif kind == MULRK and len(body) >= 6:
            row, first = struct.unpack_from("<HH", body)
            last = struct.unpack_from("<H", body, len(body) - 2)[0]
            cells.add(row, first, 1, max(last - first + 1, 1), pos, pos + 4 + len(body))
            records.append(pos)
    return cells, records


class SharedStrings:
    """The workbook's shared strings, read by xlrd (workbook globals only) when a cut cell needs one."""

    def __init__(self, data: bytes):
        self._data, self._strings = data, None

    def __getitem__(self, index: int) -> str:
        if self._strings is None:
            import xlrd

            try:  # xlrd keeps the shared string table of the globals as ``_sharedstrings``
                book = xlrd.open_workbook(file_contents=self._data, on_demand=True, logfile=io.StringIO())
                self._strings = list(book._sharedstrings)
            except Exception:  # noqa: BLE001 -- only the value shown in a reject is lost; the reject stands
                self._strings = []
        return self._strings[index] if 0 <= index < len(self._strings) else ""


def _record_value(stream: bytes, pos: int, strings: SharedStrings) -> str:
    """A cut record's value as text, for the reject that reports it (numbers and text)."""
    kind, size = struct.unpack_from("<HH", stream, pos)
    body = stream[pos + 4 : pos + 4 + size]
    if kind == 0x00FD and size >= 10:
        return strings[struct.unpack_from("<I", body, 6)[0]]
    if kind == 0x0203 and size >= 14:
        return f"{struct.unpack_from('<d', body, 6)[0]:g}"
    if kind in (0x027E, MULRK) and size >= 10:
        rk = struct.unpack_from("<I", body, 6)[0]
        value = (
            (rk >> 2) - ((rk >> 31) << 30) if rk & 0x02 else struct.unpack("<d", struct.pack("<Q", (rk & ~3) << 32))[0]
        )
        return f"{value / 100 if rk & 0x01 else value:g}"
    if kind == 0x0204 and size >= 9:
        count, wide = struct.unpack_from("<H", body, 6)[0], body[8] & 0x01
        return body[9 : 9 + count * (2 if wide else 1)].decode("utf-16-le" if wide else "latin-1", "replace")
    return ""


def _file_offsets(doc, node) -> tuple[list[int], int]:
    """The file offset of each sector of a stream, and the sector size (regular or short stream)."""

    def chain(table, first):
        out, sid = [], first
        while sid >= 0 and len(out) <= len(table):
            out.append(sid)
            sid = table[sid]
        return out

    regular = lambda sid: 512 + sid * doc.sec_size
    if node.tot_size >= doc.min_size_std_stream:
        return [regular(s) for s in chain(doc.SAT, node.first_SID)], doc.sec_size
    root = [regular(s) for s in chain(doc.SAT, doc.dirlist[0].first_SID)]
    short = [s * doc.short_sec_size for s in chain(doc.SSAT, node.first_SID)]
    return [root[p // doc.sec_size] + p % doc.sec_size for p in short], doc.short_sec_size


def _skip_records(data: bytearray, doc, node, stream: bytes, offsets: list[int]) -> None:
    """Give the records at these stream offsets (and a STRING right after a FORMULA) the type readers skip."""
    sectors, size = _file_offsets(doc, node)
    for pos in offsets:
        kind, length = struct.unpack_from("<HH", stream, pos)
        targets = [pos]
        following = pos + 4 + length
        if kind == 0x0006 and following + 4 <= len(stream) and struct.unpack_from("<H", stream, following)[0] == STRING:
            targets.append(following)
        for target in targets:
            for k, byte in enumerate(struct.pack("<H", SKIPPED_RECORD)):
                at = target + k
                data[sectors[at // size] + at % size] = byte


def xlrd_marks(path: Path, data: bytes, sheets: list[str]) -> dict[str, SheetMarks]:
    """Hidden rows and columns, merged cells and error values of every sheet, from xlrd."""
    import xlrd

    try:
        book = xlrd.open_workbook(
            file_contents=data, formatting_info=True, on_demand=True, ragged_rows=True, logfile=io.StringIO()
        )
        return {name: _sheet_marks(book.sheet_by_name(name)) for name in book.sheet_names() if name in sheets}
    except (
        xlrd.XLRDError,
        xlrd.compdoc.CompDocError,
        struct.error,
        IndexError,
        KeyError,
        ValueError,
        AssertionError,
    ) as exc:
        raise _damaged(path, f"its sheets cannot be read for hidden rows and merged cells ({exc})") from None


def _sheet_marks(sheet) -> SheetMarks:
    from xlrd.biffh import XL_CELL_ERROR, error_text_from_code

    hidden_rows = tuple((r, r + 1) for r, info in sorted(sheet.rowinfo_map.items()) if info.hidden)
    hidden_cols = tuple((c, c + 1) for c, info in sorted(sheet.colinfo_map.items()) if info.hidden)
    merges = tuple(((top, left), (bottom - 1, right - 1)) for top, bottom, left, right in sheet.merged_cells)
    errors = {}
    for r in range(sheet.nrows):
        for c, ctype in enumerate(sheet.row_types(r)):
            if ctype == XL_CELL_ERROR:
                errors[(r, c)] = error_text_from_code.get(sheet.cell_value(r, c), "#ERROR")
    return SheetMarks(hidden_rows, hidden_cols, {}, errors, merges)
