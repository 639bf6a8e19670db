"""Refuse raw files that would crash, fool or exhaust the readers, before a reader sees them.

Office files travel by e-mail and USB stick and are saved by many programs, so a raw file
is checked for what it *is* before it is read for what it *says*:

* it can be read at all (access rights, a file that vanished) and is not implausibly large;
* a workbook is what its name says: a zip archive holding an Excel (.xlsx, .xlsm) or
  OpenDocument (.ods) spreadsheet, or an Excel 97-2003 (.xls) Compound File (``kpi.xls``) --
  not a PDF or a web page renamed, not a damaged or truncated copy, not a password-protected
  (encrypted) file, not the binary .xlsb;
* its zip directory promises no more than ``MAX_UNPACKED_BYTES`` in all and no part packed
  tighter than ``MAX_RATIO`` (a zip bomb), and no part unpacks to more than its directory
  declares: every part is unpacked here with a bounded decompressor and its CRC checked,
  so a directory that lies is caught before the values reader (calamine) opens the file;
* no XML part declares a DOCTYPE or an ENTITY (external entities, "billion laughs"):
  Excel and LibreOffice never write one; the parts read here are parsed with defusedxml;
* no sheet makes calamine allocate for the distance between its values rather than for the
  values (``kpi.extent``): a value far from the others is cut out of the copy calamine reads,
  and reported by the reader with its address;
* what calamine does not report is found in the sheet XML (``kpi.marks``): hidden rows and
  columns, formulas without a cached value and error values, and for .ods the merged cells.

The workbook part is found through the package relationships (``_rels/.rels``), so a
workbook at the root of the package or with backslashes in its part names (as some
programs write them, and calamine reads them) is read like any other.

Every refusal is a ``SourceError`` naming the file and saying what to do about it.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as xml_fromstring

from kpi import extent
from kpi import marks as sheet_marks
from kpi.errors import SourceError
from kpi.extent import Extent
from kpi.marks import NO_MARKS, SheetMarks, attribute, local_name
from kpi.unzip import SAVE_AS_XLSX, ZIP_MAGIC, inflate, part_name, refuse, repack, unpack, zip_directory

MAX_FILE_BYTES = 100 * 2**20  # a district annex is tens of kilobytes; 100 MB on disk is not one

EMPTY_ZIP_MAGIC = b"PK\x05\x06"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .xls, .doc, and encrypted .xlsx
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
ODF_MIMETYPE = b"application/vnd.oasis.opendocument"
XLSX_WORKBOOK = "xl/workbook.xml"  # where Excel puts the workbook part; others say where in _rels/.rels
PACKAGE_RELS = "_rels/.rels"
ODS_CONTENT = "content.xml"
ODF_MANIFEST = "META-INF/manifest.xml"
PASSWORD = (
    "is password-protected (encrypted), so it cannot be read: remove the password (Excel: File > Info > "
    "Protect Workbook > Encrypt with Password, clear it; LibreOffice: Save As without 'Save with "
    "password') and save it again"
)

_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_DTD_BYTES = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)


# --- reading the bytes -------------------------------------------------------------------


def unreadable(exc: OSError) -> str:
    """A one-line reason for an operating-system error, with what a person can do about it."""
    if isinstance(exc, PermissionError):
        return (
            "cannot be read: permission denied (is it open in another program, or are its access "
            "rights too strict? give your user read access and run again)"
        )
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
        raise refuse(
            path,
            f"refused: larger than {MAX_FILE_BYTES // 2**20} MB (MAX_FILE_BYTES); a district "
            "table is far smaller -- is it the right file?",
        )
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


@dataclass
class CheckedWorkbook:
    """A workbook that passed the checks: the bytes calamine reads (far values cut out), its
    unpacked XML parts, and per sheet what the checks found."""

    path: Path
    kind: str  # "xlsx", "ods" or "xls"
    data: bytes
    parts: dict[str, bytes] = field(default_factory=dict)  # XML parts by name ("/" separated)
    sheet_parts: dict[str, str] = field(default_factory=dict)  # .xlsx: sheet name → its XML part
    extents: dict[str, Extent] = field(default_factory=dict)  # sheets with far values cut out, or too large
    load_marks: Callable[[], dict[str, SheetMarks]] | None = None
    _marks: dict[str, SheetMarks] | None = None

    def marks(self, sheet: str) -> SheetMarks:
        """The marks of one sheet, by its name in the workbook (NO_MARKS when it has none)."""
        if self._marks is None:
            self._marks = self.load_marks() if self.load_marks else self._xml_marks()
        return self._marks.get(sheet, NO_MARKS)

    def all_marks(self) -> dict[str, SheetMarks]:
        self.marks("")
        return self._marks

    def _xml_marks(self) -> dict[str, SheetMarks]:
        part = ODS_CONTENT
        try:
            if self.kind == "ods":
                return sheet_marks.ods_marks_by_sheet(self.parts.get(ODS_CONTENT, b""))
            return sheet_marks.xlsx_marks_by_sheet(self.parts, self.sheet_parts)
        except (ParseError, DefusedXmlException, ValueError) as exc:
            raise _parse_problem(self.path, getattr(exc, "part", part), exc) from None


def check_workbook(path: Path) -> CheckedWorkbook:
    """Read a workbook's bytes and refuse anything that is not a sound .xlsx, .ods or .xls (see module doc)."""
    data = read_raw(path)
    if data.startswith(OLE2_MAGIC):
        from kpi import xls

        return xls.check(path, data)
    if not data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        raise refuse(path, f"not an Excel or OpenDocument workbook: it is {describe_content(data)}; {SAVE_AS_XLSX}")
    infos = zip_directory(path, data)
    _refuse_encrypted_odf(path, data, infos)
    parts = unpack(path, data, infos)
    names = {part_name(i.filename) for i in infos}
    kind, workbook = _package_kind(path, data, parts, names)
    for name, content in parts.items():
        if declares_dtd(content):
            raise refuse(
                path,
                f"refused: its part {name!r} declares a DOCTYPE or ENTITY (external entities or "
                "entity expansion, as in the 'billion laughs' attack); Excel and LibreOffice never "
                "write one -- ask for the file as Excel or LibreOffice saved it",
            )
    book = CheckedWorkbook(path, kind, data, parts)
    if kind == "xlsx":
        book.sheet_parts = _xlsx_sheet_parts(path, parts, workbook)
    changed = _cut_far_values(book)
    if changed:
        book.parts.update(changed)
        book.data = repack(data, changed)
    return book


def _refuse_encrypted_odf(path: Path, data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    """An OpenDocument file saved with a password lists ``encryption-data`` in its manifest."""
    manifest = next((i for i in infos if part_name(i.filename) == ODF_MANIFEST), None)
    if manifest is not None and ODF_MIMETYPE in data[:200] and b"encryption-data" in inflate(path, data, manifest):
        raise refuse(path, PASSWORD)


def _office_document(parts: dict[str, bytes]) -> str | None:
    """The main part the package relationships name (``officeDocument``), or None."""
    try:
        rels = xml_fromstring(parts.get(PACKAGE_RELS, b"<Relationships/>"), forbid_dtd=True)
    except (ParseError, DefusedXmlException):
        return None
    for rel in rels.iter():
        if local_name(rel.tag) == "Relationship" and rel.get("Type", "").endswith("/officeDocument"):
            return part_name(rel.get("Target", ""))
    return None


def _package_kind(path: Path, data: bytes, parts: dict[str, bytes], names: set[str]) -> tuple[str, str]:
    """(``xlsx`` or ``ods``, the workbook part) from the parts inside the zip; anything else is refused by name."""
    office = _office_document(parts)
    if office in parts and b"workbook" in parts[office][:4096]:
        return "xlsx", office
    if XLSX_WORKBOOK in parts:
        return "xlsx", XLSX_WORKBOOK
    if ODS_CONTENT in names and ODS_MIMETYPE in data[:200]:
        return "ods", ODS_CONTENT
    if "xl/workbook.bin" in names or (office or "").endswith(".bin"):
        what = "an Excel binary workbook (.xlsb), which is not read"
    elif "word/document.xml" in names:
        what = "a Word document (.docx)"
    elif "ppt/presentation.xml" in names:
        what = "a PowerPoint presentation (.pptx)"
    elif ODF_MIMETYPE in data[:200]:
        what = "an OpenDocument file that is not a spreadsheet (.odt?)"
    else:
        what = "a zip archive that holds no workbook (no xl/workbook.xml, no spreadsheet content.xml)"
    raise refuse(path, f"not an Excel or OpenDocument workbook: it is {what}; {SAVE_AS_XLSX}")


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


# --- sheets: their parts, their far values -------------------------------------------------


def _parse_problem(path: Path, part: str, exc: Exception) -> SourceError:
    if isinstance(exc, DefusedXmlException):
        return refuse(
            path,
            f"refused: its part {part!r} declares a DOCTYPE or ENTITY; Excel and LibreOffice never "
            "write one -- ask for the file as Excel or LibreOffice saved it",
        )
    return refuse(
        path,
        f"damaged: its part {part!r} is not well-formed XML ({exc}); copy the file again from its "
        f"source, or {SAVE_AS_XLSX}",
    )


def _xlsx_sheet_parts(path: Path, parts: dict[str, bytes], workbook: str) -> dict[str, str]:
    """Sheet name → its XML part, from the workbook part and its relationships."""
    folder, name = posixpath.split(workbook)
    rels_part = posixpath.join(folder, "_rels", name + ".rels")
    try:
        book = xml_fromstring(parts[workbook], forbid_dtd=True)
        rels = xml_fromstring(parts.get(rels_part, b"<Relationships/>"), forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise _parse_problem(path, workbook, exc) from None
    targets = {
        r.get("Id"): r.get("Target", "").replace("\\", "/") for r in rels.iter() if local_name(r.tag) == "Relationship"
    }
    out = {}
    for sheet in book.iter():
        if local_name(sheet.tag) != "sheet":
            continue
        target = targets.get(attribute(sheet, "id"), "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[sheet.get("name", "")] = part
    return out


def _cut_far_values(book: CheckedWorkbook) -> dict[str, bytes]:
    """Cut far values out of the sheets that need it (``kpi.extent``); the parts changed, by name."""
    return _cut_ods(book) if book.kind == "ods" else _cut_xlsx(book)


def _needs_scan(xml: bytes) -> bool:
    """False when the cells' own addresses show a sheet small enough to read as it is (most sheets)."""
    box = extent.xlsx_quick_box(xml)
    return box is None or extent.area(box) > extent.MAX_SHEET_CELLS


def _cut_xlsx(book: CheckedWorkbook) -> dict[str, bytes]:
    changed = {}
    shared = extent.SharedStrings(
        next((xml for name, xml in book.parts.items() if name.lower().endswith("sharedstrings.xml")), b"")
    )
    for name, part in book.sheet_parts.items():
        xml = book.parts.get(part)
        if xml is None or not _needs_scan(xml):
            continue
        cells = extent.xlsx_cells(xml)
        planned = extent.plan(cells)
        if planned:
            cut, found = planned
            value = lambda i, x=xml, c=cells: extent.xlsx_value(x, c.start[i], c.end[i], shared)
            book.extents[name] = (
                found if found.too_large else replace(found, strays=extent.strays_of(cells, cut, value))
            )
            changed[part] = extent.xlsx_cut(xml, cells, cut)
    return changed


def _cut_ods(book: CheckedWorkbook) -> dict[str, bytes]:
    content = book.parts.get(ODS_CONTENT, b"")
    everything = extent.Cells()
    for name, cells in extent.ods_cells(content).items():
        planned = extent.plan(cells)
        if not planned:
            continue
        cut, found = planned
        value = lambda i, c=cells: extent.ods_value(content, c.start[i], c.end[i])
        book.extents[name] = found if found.too_large else replace(found, strays=extent.strays_of(cells, cut, value))
        for i in cut:
            everything.add(cells.top[i], cells.left[i], cells.rows[i], cells.cols[i], cells.start[i], cells.end[i])
    if not len(everything):
        return {}
    return {ODS_CONTENT: extent.ods_cut(content, everything, list(range(len(everything))))}
