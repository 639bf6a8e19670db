"""Read CSV files as their layouts say: records (one figure per line) and lists (named things).

CSV files may be UTF-8 (with or without BOM), UTF-16 or UTF-32 with a BOM, or Vietnamese
Windows-1258; lines may end the Windows (CR LF), Unix (LF) or old Mac (CR alone) way; the
delimiter (comma, semicolon, tab) is taken from the header line, and a ``.tsv`` file is
read as tab-separated.  Blank lines above the header are skipped, and problems name the
header's real line.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

from kpi import safety
from kpi.cells import Extracted, closest
from kpi.errors import SourceError
from kpi.layouts import Layout
from kpi.reference import SourceRecord
from kpi.text import nfc

CSV_DELIMITERS = (",", ";", "\t")
TAB_SUFFIXES = (".tsv", ".tab")  # tab-separated text by its name
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# Vietnamese diacritics: five tones (grave, acute, tilde, hook, dot below), circumflex, breve, horn.
VIETNAMESE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b")
TEXT_SIGNS = frozenset("–—‘’“”…•°·×±²³§©®€№\u00a0")  # typographic signs in Office's Vietnamese text
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")

MAX_HEADER_SHIFT = 10  # lines a header may sit below the first and still be found, to say so


def plausible_vietnamese(text: str) -> bool:
    """True when every non-ASCII character is a Vietnamese letter or a common typographic sign:
    the test that tells Windows-1258 text from bytes of some other code page.

    >>> plausible_vietnamese("Huyện Tam Đường – 1.947 ha"), plausible_vietnamese("Straße")
    (True, False)
    """
    for ch in set(text):
        if ch.isascii() or ch in "đĐ" or ch in TEXT_SIGNS:
            continue
        base, *marks = unicodedata.normalize("NFD", ch)
        if not (base.isascii() and base.isalpha() and marks and all(m in VIETNAMESE_MARKS for m in marks)):
            return False
    return True


def line_of(data: bytes, pos: int) -> int:
    """The 1-based line holding byte ``pos``, whatever the line ends (CR LF, LF or CR alone).

    >>> line_of(b"a\\rb\\rc", 4), line_of(b"a\\r\\nb", 3)
    (3, 2)
    """
    return len(_LINE_BREAK.findall(data[:pos])) + 1


def one_line_end(text: str) -> str:
    """Every line end as LF: CR LF (Windows) and a CR alone (old Mac) too.

    >>> one_line_end("a\\rb\\r\\nc\\n")
    'a\\nb\\nc\\n'
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_csv(data: bytes, name: str) -> str:
    """CSV bytes to NFC text with LF line ends: a BOM (UTF-8, UTF-16, UTF-32) decides; else UTF-8;
    else Windows-1258, the Vietnamese code page Excel uses for "CSV (Comma delimited)" on a
    Vietnamese Windows.

    Windows-1258 writes tone marks as combining characters, hence the NFC; it is accepted only
    when the text reads as Vietnamese, so a file in another code page is refused, not garbled.

    >>> decode_csv("Bản Hòn".encode("utf-16"), "x.csv"), decode_csv(b"Ba\\xd2n Ho\\xccn", "x.csv")
    ('Bản Hòn', 'Bản Hòn')
    """
    if data.startswith((safety.ZIP_MAGIC, safety.OLE2_MAGIC)):
        raise SourceError(
            name,
            [
                "is a workbook (Excel or OpenDocument), not CSV text, but its layout reads CSV: "
                "export the sheet as 'CSV UTF-8 (Comma delimited)'"
            ],
        )
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                return one_line_end(unicodedata.normalize("NFC", data.decode(codec)))
            except UnicodeDecodeError as exc:
                raise SourceError(
                    name,
                    [
                        f"not {codec.upper()} text although it starts with that byte-order mark "
                        f"(byte {exc.start}); save the file as 'CSV UTF-8'"
                    ],
                ) from None
    if b"\x00" in data:
        line = line_of(data, data.index(b"\x00"))
        raise SourceError(
            name,
            [
                f"line {line}: NUL bytes: it is UTF-16 text without a byte-order mark, or not "
                "text at all; save the file as 'CSV UTF-8'"
            ],
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1258")
        except UnicodeDecodeError:
            text = ""
        if not text or not plausible_vietnamese(unicodedata.normalize("NFC", text)):
            raise SourceError(
                name,
                [
                    f"line {line_of(data, exc.start)}: not UTF-8 text (byte 0x{data[exc.start]:02x}) "
                    "nor Vietnamese Windows-1258; save the file as 'CSV UTF-8'"
                ],
            ) from None
    return one_line_end(unicodedata.normalize("NFC", text))


def read_csv_text(path: Path) -> str:
    """Decode a CSV file (see ``decode_csv``); the file is opened read-only through ``kpi.safety``."""
    return decode_csv(safety.read_raw(path), path.name)


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line (the first line that is not blank): comma, semicolon
    (Excel where the comma is the decimal mark, as in Vietnam) or tab -- whichever splits it
    into the most fields; comma on a tie.

    >>> sniff_delimiter("ma;ten;gia_tri\\nx;y;74,03"), sniff_delimiter("\\n\\na,b\\n")
    (';', ',')
    """
    header = next((line for line in text.split("\n") if line.strip()), "")
    return max(CSV_DELIMITERS, key=lambda d: len(next(csv.reader([header], delimiter=d), [])))


def delimiter_of(path: Path, text: str) -> str:
    """Tab for a file named ``.tsv``, else the delimiter of its header line."""
    return "\t" if path.suffix.lower() in TAB_SUFFIXES else sniff_delimiter(text)


def numbered_rows(text: str, delimiter: str) -> tuple[list[tuple[int, list[str]]], str | None]:
    """Records with the line each starts on (a quoted value may span lines), and the problem that
    stopped the reading; strict quoting, so a quote left open is a problem naming its line instead
    of swallowing the rest of the file.  ``text`` has LF line ends (``decode_csv``)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows, start = [], 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        return rows, f"line {start}: cannot be read as CSV ({exc}); check the double quotes on that line"
    return rows, None


def header_of(numbered: list[tuple[int, list[str]]]) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """(line of the header, its fields, the lines under it): blank lines above the header are skipped."""
    for i, (line_no, row) in enumerate(numbered):
        if any(v.strip() for v in row):
            return line_no, [nfc(h) for h in row], numbered[i + 1 :]
    return 0, [], []


def later_header(numbered: list[tuple[int, list[str]]], wanted: set[str]) -> int | None:
    """The line of a header lower down that holds every ``wanted`` column (a title row or a note
    typed above the table), looking at the first ``MAX_HEADER_SHIFT`` lines; None if there is none.

    >>> later_header([(1, ["Bảng số liệu", ""]), (2, ["", ""]), (3, ["nam", "gia_tri"])], {"nam", "gia_tri"})
    3
    """
    for line_no, row in numbered[1 : MAX_HEADER_SHIFT + 1]:
        if wanted and wanted <= {nfc(v) for v in row}:
            return line_no
    return None


def _csv_rows(record: SourceRecord, spec: Layout, out: Extracted) -> tuple[list[str], list[tuple[int, dict]]]:
    text = read_csv_text(record.path)
    delimiter = delimiter_of(record.path, text)
    numbered, problem = numbered_rows(text, delimiter)
    if problem:
        out.problems.append(problem)
        return [], []
    line, header, body = header_of(numbered)
    if not header:
        out.problems.append("the file is empty: expected a header line")
        return [], []
    mapping = spec.columns
    optional = set(spec.optional)
    required = {column for role, column in mapping.items() if role not in optional}
    if not required <= set(header):
        moved = later_header(numbered, required)
        if moved is not None:
            out.problems.append(
                f"line {line}: the table header is on line {moved}, not on line {line} (a title or a note above "
                f"the table?); delete the lines above the header and save the file again"
            )
            return [], []
    for role, column in mapping.items():
        if column not in header and role not in optional:
            out.problems.append(f"line {line}: column {column!r} ({role}) not found{closest(column, header)}")
    known = set(mapping.values()) | set(spec.extra)
    for h in header:
        if h not in known:
            out.problems.append(f"line {line}: unknown column {h!r}{closest(h, list(known))}")
    for h in sorted({h for h in header if header.count(h) > 1}):
        out.problems.append(f"line {line}: column {h!r} appears {header.count(h)} times; keep one")
    records = []
    for line_no, row in body:
        if not any(v.strip() for v in row):
            continue
        if len(row) != len(header):
            hint = (
                f"; a value holding {'a tab' if delimiter == chr(9) else repr(delimiter)} must be in double quotes"
                if len(row) > len(header)
                else ""
            )
            out.reject(
                f"{record.path.name}:{line_no}",
                "line",
                delimiter.join(row),
                f"line has {len(row)} fields, the header has {len(header)}{hint}",
            )
            continue
        values = dict(zip(header, row))
        records.append((line_no, {role: values.get(column, "") for role, column in mapping.items()}))
    return header, records


def read_records(record: SourceRecord, spec: Layout) -> Extracted:
    """A CSV with one figure per line; an increase column gives a second figure on the line."""
    out = Extracted(record.source_id)
    _, rows = _csv_rows(record, spec, out)
    for line_no, row in rows:
        ref = f"{record.path.name}:{line_no}"
        passage = nfc(row.get("ref", ""))
        full_ref = f"{ref} {passage}".strip()
        note = "; ".join(nfc(row[r]) for r in spec.note_roles if nfc(row.get(r, "")))
        base = {
            "source_id": record.source_id,
            "area_raw": row.get("area", ""),
            "year_raw": row.get("year", ""),
            "unit_raw": row.get("unit", ""),
            "note": note,
        }
        out.cells.append(
            {
                **base,
                "source_ref": full_ref,
                "indicator": nfc(row.get("indicator", "")),
                "raw_value": row.get("value", ""),
                "base_year": None,
                "status": "",
            }
        )
        if row.get("increase", "").strip():
            out.cells.append(
                {
                    **base,
                    "source_ref": full_ref + " (increase)",
                    "indicator": nfc(row.get("indicator", "")) + ".increase",
                    "raw_value": row["increase"],
                    "base_year": row.get("base_year", ""),
                    "status": "",
                }
            )
    return out


def read_list(record: SourceRecord, spec: Layout) -> Extracted:
    """A CSV of named things, renamed to the layout's roles and kept whole."""
    out = Extracted(record.source_id)
    _, rows = _csv_rows(record, spec, out)
    table = spec.table
    out.lists[table] = [
        {
            **{role: nfc(v) for role, v in row.items()},
            "source_id": record.source_id,
            "source_ref": f"{record.path.name}:{line_no}",
        }
        for line_no, row in rows
    ]
    return out
