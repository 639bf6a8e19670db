"""Refuse raw files that would crash, fool or exhaust the readers, before a reader sees them.

Office files travel by e-mail and USB stick and are saved by many programs, so a raw file
is checked for what it *is* before it is read for what it *says*:

* it can be read at all (access rights, a file that vanished) and is not implausibly large;
* a workbook is what its name says: a zip archive holding an Excel (.xlsx, .xlsm) or
  OpenDocument (.ods) spreadsheet -- not a PDF or a web page renamed, not a damaged or
  truncated copy, not a password-protected (encrypted) file, not the binary .xls or .xlsb;
* its zip directory promises no more than ``MAX_UNPACKED_BYTES`` in all and no part packed
  tighter than ``MAX_RATIO`` (a zip bomb), and no part unpacks to more than its directory
  declares: every part is unpacked here with a bounded decompressor and its CRC checked,
  so a directory that lies is caught before the values reader (calamine) opens the file;
* no XML part declares a DOCTYPE or an ENTITY (external entities, "billion laughs"):
  Excel and LibreOffice never write one; the parts read here are parsed with defusedxml;
* what calamine does not report is found in the sheet XML (see ``SheetMarks``): hidden rows
  and columns, formulas without a cached value and error values such as ``#DIV/0!`` (all
  read as empty cells by calamine), and for .ods the merged cells.  The XML is parsed only
  when a cheap byte scan finds one of these, so a plain workbook costs one unpacking.

Every refusal is a ``SourceError`` naming the file and saying what to do about it.
"""
from __future__ import annotations

import io
import itertools
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as xml_fromstring, iterparse as xml_iterparse

from kpi.errors import SourceError, cell_ref, column_index

MAX_FILE_BYTES = 100 * 2**20      # a district annex is tens of kilobytes; 100 MB on disk is not one
MAX_UNPACKED_BYTES = 200 * 2**20  # all zip parts of one workbook unpacked; a zip bomb promises gigabytes
MAX_RATIO = 100                   # unpacked:packed size of one part; real sheet XML packs about 5-30:1
RATIO_FLOOR_BYTES = 2**20         # parts under 1 MB are not ratio-checked: tiny repetitive XML packs tightly
MAX_PARTS = 10_000                # zip members of one workbook; Excel writes a few dozen
MAX_REPEATED_CELLS = 10_000       # .ods cells one repeated formula cell stands for that are listed

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .xls, .doc, and encrypted .xlsx
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
XLSX_WORKBOOK = "xl/workbook.xml"
XLSX_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
ODS_CONTENT = "content.xml"
SAVE_AS_XLSX = "open it in Excel or LibreOffice and save it as Excel Workbook (.xlsx)"

_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_DTD_BYTES = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_XLSX_MARKERS = re.compile(rb"""hidden=["'](?:1|true)["']|<(?:\w+:)?f[\s>/]|\st=["']e["']""")
_ODS_MARKERS = re.compile(rb"visibility=|formula=|-spanned=")


def refuse(path: Path, message: str) -> SourceError:
    return SourceError(path.name, [message])


# --- reading the bytes -------------------------------------------------------------------

def unreadable(exc: OSError) -> str:
    """A one-line reason for an operating-system error, with what a person can do about it."""
    if isinstance(exc, PermissionError):
        return ("cannot be read: permission denied (is it open in another program, or are its access "
                "rights too strict? give your user read access and run again)")
    if isinstance(exc, FileNotFoundError):
        return "cannot be read: the file disappeared while the run was reading data/raw"
    if isinstance(exc, IsADirectoryError):
        return "cannot be read: it is a folder, not a file"
    return f"cannot be read: {exc.strerror or exc}"


def read_raw(path: Path) -> bytes:
    """The bytes of a raw file (opened read-only), or a SourceError saying why they cannot be had."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise refuse(path, unreadable(exc)) from None
    if len(data) > MAX_FILE_BYTES:
        raise refuse(path, f"refused: larger than {MAX_FILE_BYTES // 2**20} MB (MAX_FILE_BYTES); a district "
                           "table is far smaller -- is it the right file?")
    return data


def looks_like_text(head: bytes) -> bool:
    """True when the first bytes decode as text without control characters (a CSV, say)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of ``head``
            return False
        text = head[: exc.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\r\n\t" for ch in text)


def describe_content(data: bytes) -> str:
    """What a file that is not a workbook seems to be, from its first bytes."""
    if not data:
        return "an empty file (0 bytes)"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf"):
        return "a PDF document"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "a web page (HTML), as web exports and 'Save as Web Page' write"
    if head.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in data[:4096]:
        return "an Excel 2003 XML spreadsheet"
    if looks_like_text(data[:4096]):
        return "plain text (a CSV file renamed?)"
    return f"unknown binary content (it starts with {data[:8].hex(' ')})"


# --- workbooks ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SheetMarks:
    """What the sheet XML says that calamine does not: hidden rows and columns, formulas
    without a cached value, error values and (for .ods) merged cells; all 0-based."""

    hidden_rows: tuple[tuple[int, int], ...] = ()   # half-open ranges [start, stop)
    hidden_cols: tuple[tuple[int, int], ...] = ()
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # uncached formula text by cell
    errors: dict[tuple[int, int], str] = field(default_factory=dict)    # error value (and formula) by cell
    merges: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()

    def row_hidden(self, r0: int) -> bool:
        return any(start <= r0 < stop for start, stop in self.hidden_rows)

    def col_hidden(self, c0: int) -> bool:
        return any(start <= c0 < stop for start, stop in self.hidden_cols)

    def marked(self, r0: int, c0: int) -> bool:
        return (r0, c0) in self.formulas or (r0, c0) in self.errors


NO_MARKS = SheetMarks()


@dataclass
class CheckedWorkbook:
    """A workbook that passed the checks: its bytes for calamine and its unpacked XML parts."""

    path: Path
    kind: str                   # "xlsx" or "ods"
    data: bytes
    parts: dict[str, bytes]     # XML parts by name (unpacked, checked for DTDs)
    _marks: dict[str, SheetMarks] | None = None

    def marks(self, sheet: str) -> SheetMarks:
        """The marks of one sheet, by its name in the workbook (NO_MARKS when it has none)."""
        if self._marks is None:
            self._marks = _xlsx_marks_by_sheet(self) if self.kind == "xlsx" else _ods_marks_by_sheet(self)
        return self._marks.get(sheet, NO_MARKS)


def check_workbook(path: Path) -> CheckedWorkbook:
    """Read a workbook's bytes and refuse anything that is not a sound .xlsx or .ods (see module doc)."""
    data = read_raw(path)
    if data.startswith(OLE2_MAGIC):
        raise refuse(path, _ole2_problem(data))
    if not data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        raise refuse(path, f"not an Excel or OpenDocument workbook: it is {describe_content(data)}; {SAVE_AS_XLSX}")
    infos = _zip_directory(path, data)
    kind = _zip_kind(path, data, infos)
    parts = _unpack(path, data, infos)
    for name, content in parts.items():
        if declares_dtd(content):
            raise refuse(path, f"refused: its part {name!r} declares a DOCTYPE or ENTITY (external entities or "
                               "entity expansion, as in the 'billion laughs' attack); Excel and LibreOffice never "
                               "write one -- ask for the file as Excel or LibreOffice saved it")
    return CheckedWorkbook(path, kind, data, parts)


def _ole2_problem(data: bytes) -> str:
    """Why a Compound File (OLE2) is refused: encrypted OOXML, the old .xls, or not a workbook."""
    if "EncryptedPackage".encode("utf-16-le") in data:
        return ("is password-protected (encrypted), so it cannot be read: remove the password (Excel: File > Info > "
                "Protect Workbook > Encrypt with Password, clear it; LibreOffice: Save As without 'Save with "
                "password') and save it again")
    if "Workbook".encode("utf-16-le") in data or "Book\x00".encode("utf-16-le") in data:
        return (f"old Excel 97-2003 format (.xls), which is not read: hidden rows and uncached formulas cannot be "
                f"checked in it; {SAVE_AS_XLSX}")
    return f"an older Office file (OLE2) that holds no workbook (a .doc?); {SAVE_AS_XLSX}"


def _zip_directory(path: Path, data: bytes) -> list[zipfile.ZipInfo]:
    """The zip central directory, refused when damaged or when it promises a zip bomb."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error):
        raise refuse(path, "damaged or truncated: its zip directory is missing or broken (was a copy or download "
                           "interrupted?); copy the file again from its source") from None
    if len(infos) > MAX_PARTS:
        raise refuse(path, f"refused: it holds {len(infos):,} zip parts, above the limit of {MAX_PARTS:,} "
                           "(MAX_PARTS); a workbook holds a few dozen")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise refuse(path, f"refused: its parts would unpack to {total / 2**20:,.0f} MB, above the limit of "
                           f"{MAX_UNPACKED_BYTES // 2**20} MB (MAX_UNPACKED_BYTES); this looks like a zip bomb")
    for info in infos:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise refuse(path, f"refused: its part {info.filename!r} is packed {ratio:,.0f}:1, above the limit of "
                               f"{MAX_RATIO}:1 (MAX_RATIO); this looks like a zip bomb")
    return infos


def _zip_kind(path: Path, data: bytes, infos: list[zipfile.ZipInfo]) -> str:
    """``xlsx`` or ``ods`` from the names inside the zip; anything else is refused by name."""
    names = {i.filename for i in infos}
    if XLSX_WORKBOOK in names:
        return "xlsx"
    if ODS_CONTENT in names and ODS_MIMETYPE in data[:200]:
        return "ods"
    if "xl/workbook.bin" in names:
        what = "an Excel binary workbook (.xlsb), which is not read"
    elif "word/document.xml" in names:
        what = "a Word document (.docx)"
    elif "ppt/presentation.xml" in names:
        what = "a PowerPoint presentation (.pptx)"
    elif b"application/vnd.oasis.opendocument" in data[:200]:
        what = "an OpenDocument file that is not a spreadsheet (.odt?)"
    else:
        what = "a zip archive that holds no workbook (no xl/workbook.xml, no spreadsheet content.xml)"
    raise refuse(path, f"not an Excel or OpenDocument workbook: it is {what}; {SAVE_AS_XLSX}")


def _unpack(path: Path, data: bytes, infos: list[zipfile.ZipInfo]) -> dict[str, bytes]:
    """Unpack every part with a bounded decompressor (CRC checked); keep the XML parts."""
    parts = {}
    for info in infos:
        content = _inflate(path, data, info)
        if info.filename.endswith((".xml", ".rels")):
            parts[info.filename] = content
    return parts


def _inflate(path: Path, data: bytes, info: zipfile.ZipInfo) -> bytes:
    """One part, never unpacking more than its declared size plus one byte (so a lie is seen)."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise refuse(path, f"is password-protected: its part {name!r} is encrypted; remove the password and save "
                           "it again")
    start = info.header_offset
    header = data[start:start + 30]
    if len(header) < 30 or header[:4] != ZIP_MAGIC:
        raise refuse(path, f"damaged or truncated: its part {name!r} is missing; copy the file again from its source")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    begin = start + 30 + name_len + extra_len
    packed = data[begin:begin + info.compress_size]
    if len(packed) < info.compress_size:
        raise refuse(path, f"damaged or truncated: its part {name!r} is cut short; copy the file again from its source")
    if info.compress_type == zipfile.ZIP_STORED:
        content = packed
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        try:
            content = zlib.decompressobj(-15).decompress(packed, info.file_size + 1)
        except zlib.error:
            raise refuse(path, f"damaged: its part {name!r} cannot be unpacked; copy the file again from its "
                               "source") from None
    else:
        raise refuse(path, f"refused: its part {name!r} uses zip compression method {info.compress_type}, which "
                           f"Excel and LibreOffice do not write; {SAVE_AS_XLSX}")
    if len(content) > info.file_size:
        raise refuse(path, f"refused: its part {name!r} unpacks to more than the {info.file_size:,} bytes its zip "
                           "directory declares: the file is damaged, or built to exhaust memory (a zip bomb); copy "
                           "it again from its source")
    if len(content) != info.file_size or zlib.crc32(content) != info.CRC:
        raise refuse(path, f"damaged: its part {name!r} fails its checksum (CRC); copy the file again from its source")
    return content


def declares_dtd(content: bytes) -> bool:
    """True when XML (UTF-8 or UTF-16) declares a DOCTYPE or an ENTITY.

    >>> declares_dtd(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'), declares_dtd(b"<x/>")
    (True, False)
    """
    if _DTD_BYTES.search(content):
        return True
    if b"\x00" in content[:400]:
        return any(_DTD.search(content.decode(enc, errors="ignore")) for enc in ("utf-16-le", "utf-16-be"))
    return False


# --- what calamine does not say: the sheet XML --------------------------------------------

def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _attr(elem, local: str) -> str | None:
    """An attribute by its local name, whatever its namespace prefix."""
    for key, value in elem.attrib.items():
        if _local(key) == local:
            return value
    return None


def _true(value: str | None) -> bool:
    return value in ("1", "true")


def _parse_problem(path: Path, part: str, exc: Exception) -> SourceError:
    if isinstance(exc, DefusedXmlException):
        return refuse(path, f"refused: its part {part!r} declares a DOCTYPE or ENTITY; Excel and LibreOffice never "
                            "write one -- ask for the file as Excel or LibreOffice saved it")
    return refuse(path, f"damaged: its part {part!r} is not well-formed XML ({exc}); copy the file again from its "
                        f"source, or {SAVE_AS_XLSX}")


def _xlsx_sheet_parts(book: CheckedWorkbook) -> dict[str, str]:
    """Sheet name → its XML part, from xl/workbook.xml and its relationships."""
    try:
        workbook = xml_fromstring(book.parts[XLSX_WORKBOOK], forbid_dtd=True)
        rels = xml_fromstring(book.parts.get(XLSX_WORKBOOK_RELS, b"<Relationships/>"), forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise _parse_problem(book.path, XLSX_WORKBOOK, exc) from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter() if _local(r.tag) == "Relationship"}
    out = {}
    for sheet in workbook.iter():
        if _local(sheet.tag) != "sheet":
            continue
        target = targets.get(_attr(sheet, "id"), "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        out[sheet.get("name", "")] = part
    return out


def _xlsx_marks_by_sheet(book: CheckedWorkbook) -> dict[str, SheetMarks]:
    marks = {}
    for sheet, part in _xlsx_sheet_parts(book).items():
        xml = book.parts.get(part, b"")
        if _XLSX_MARKERS.search(xml):  # cheap scan first: most sheets have none of these
            try:
                marks[sheet] = xlsx_marks(xml)
            except (ParseError, DefusedXmlException, ValueError) as exc:
                raise _parse_problem(book.path, part, exc) from None
    return marks


def _cell_position(ref: str | None, row: int, col: int) -> tuple[int, int]:
    """0-based (row, column) of a cell's ``r`` attribute, or the next position when it has none."""
    if not ref:
        return row, col + 1
    letters = ref.rstrip("0123456789")
    return int(ref[len(letters):]) - 1, column_index(letters)


def xlsx_marks(xml: bytes) -> SheetMarks:
    """Hidden rows/columns, uncached formulas and error cells of one worksheet part.

    >>> m = xlsx_marks(b'<worksheet><cols><col min="2" max="3" hidden="1"/></cols><sheetData>'
    ...     b'<row r="2" hidden="1"><c r="A2"><f>B2*2</f><v/></c><c r="B2" t="e"><v>#DIV/0!</v></c></row>'
    ...     b'</sheetData></worksheet>')
    >>> m.hidden_rows, m.hidden_cols, m.formulas, m.errors
    (((1, 2),), ((1, 3),), {(1, 0): '=B2*2'}, {(1, 1): '#DIV/0!'})
    """
    hidden_rows, hidden_cols, formulas, errors = [], [], {}, {}
    row = -1
    for _, elem in xml_iterparse(io.BytesIO(xml), events=("end",), forbid_dtd=True):
        tag = _local(elem.tag)
        if tag == "col" and _true(elem.get("hidden")):
            hidden_cols.append((int(elem.get("min")) - 1, int(elem.get("max"))))
        elif tag == "row":  # its cells are still attached: read them here, then let the row go
            row = int(elem.get("r")) - 1 if elem.get("r") else row + 1
            if _true(elem.get("hidden")):
                hidden_rows.append((row, row + 1))
            _xlsx_row_cells(elem, row, formulas, errors)
            elem.clear()
    return SheetMarks(tuple(hidden_rows), tuple(hidden_cols), formulas, errors)


def _xlsx_row_cells(row_elem, row: int, formulas: dict, errors: dict) -> None:
    """Uncached formulas (no ``<v>``, or an empty one for a non-text result) and error cells of a row."""
    col = -1
    for cell in row_elem:
        if _local(cell.tag) != "c":
            continue
        _, col = _cell_position(cell.get("r"), row, col)
        children = {_local(child.tag): child for child in cell}
        formula, value, kind = children.get("f"), children.get("v"), cell.get("t")
        if formula is None and kind != "e":
            continue
        cached = value is not None and (bool(value.text) or kind == "str")
        text = f"={formula.text}" if formula is not None and formula.text else "(shared formula)"
        if formula is not None and not cached:
            formulas[(row, col)] = text
        elif kind == "e":
            errors[(row, col)] = (value.text if value is not None else "#ERROR") + (
                f" (formula {text})" if formula is not None else "")


def _ods_marks_by_sheet(book: CheckedWorkbook) -> dict[str, SheetMarks]:
    xml = book.parts.get(ODS_CONTENT, b"")
    if not _ODS_MARKERS.search(xml):
        return {}
    try:
        return ods_marks(xml)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise _parse_problem(book.path, ODS_CONTENT, exc) from None


def _repeat(elem, local: str) -> int:
    return max(int(_attr(elem, local) or 1), 1)


def ods_marks(xml: bytes) -> dict[str, SheetMarks]:
    """Hidden rows/columns, uncached formulas and merged cells of every table in an .ods content.xml.

    Rows and cells may stand for many (``number-rows-repeated``), so hidden rows are ranges.
    """
    sheets: dict[str, SheetMarks] = {}
    current: dict | None = None
    row = col = col_def = 0
    row_repeat = 1
    for event, elem in xml_iterparse(io.BytesIO(xml), events=("start", "end"), forbid_dtd=True):
        tag = _local(elem.tag)
        if event == "start":
            if tag == "table":
                current = {"name": _attr(elem, "name") or "", "rows": [], "cols": [], "formulas": {}, "merges": []}
                row = col_def = 0
            elif current is None:
                continue
            elif tag == "table-column":
                n = _repeat(elem, "number-columns-repeated")
                if _attr(elem, "visibility") in ("collapse", "filter"):
                    current["cols"].append((col_def, col_def + n))
                col_def += n
            elif tag == "table-row":
                row_repeat, col = _repeat(elem, "number-rows-repeated"), 0
                if _attr(elem, "visibility") in ("collapse", "filter"):
                    current["rows"].append((row, row + row_repeat))
            elif tag in ("table-cell", "covered-table-cell"):
                n = _repeat(elem, "number-columns-repeated")
                if tag == "table-cell":
                    _ods_cell(elem, current, row, col, row_repeat, n)
                col += n
            continue
        if tag == "table-row":
            row += row_repeat
            elem.clear()
        elif tag == "table" and current is not None:
            sheets[current["name"]] = SheetMarks(tuple(current["rows"]), tuple(current["cols"]), current["formulas"],
                                                 {}, tuple(current["merges"]))
            current = None
            elem.clear()
    return sheets


def _ods_cell(elem, sheet: dict, row: int, col: int, rows: int, cols: int) -> None:
    """Record an .ods cell's uncached formula (no value type) and its merge span."""
    formula = _attr(elem, "formula")
    if formula and not _attr(elem, "value-type"):
        text = "=" + formula.split(":", 1)[-1].lstrip("=") if formula.startswith("of:") else formula
        cells = itertools.product(range(row, row + rows), range(col, col + cols))
        sheet["formulas"].update({cell: text for cell in itertools.islice(cells, MAX_REPEATED_CELLS)})
    spans = _repeat(elem, "number-rows-spanned"), _repeat(elem, "number-columns-spanned")
    if spans != (1, 1):
        sheet["merges"].append(((row, col), (row + spans[0] - 1, col + spans[1] - 1)))


def range_ref(merge: tuple[tuple[int, int], tuple[int, int]]) -> str:
    """A1 notation of a merged range.

    >>> range_ref(((7, 1), (8, 1)))
    'B8:B9'
    """
    (top, left), (bottom, right) = merge
    return f"{cell_ref(top, left)}:{cell_ref(bottom, right)}"
