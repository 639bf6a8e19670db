"""Unpack a workbook's zip parts within bounds: a zip bomb, a lying directory or a damaged copy is refused.

The central directory may promise no more than ``MAX_UNPACKED_BYTES`` in all, no part packed
tighter than ``MAX_RATIO`` (above ``RATIO_FLOOR_BYTES``), no more than ``MAX_PARTS`` parts;
every part is then unpacked with a decompressor that never produces more than the part's
declared size plus one byte, and its CRC is checked.  Every refusal names the file and what
to do (``refuse``).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from kpi.errors import SourceError

MAX_UNPACKED_BYTES = 200 * 2**20  # all zip parts of one workbook unpacked; a zip bomb promises gigabytes
MAX_RATIO = 100  # unpacked:packed size of one part; real sheet XML packs about 5-30:1
RATIO_FLOOR_BYTES = 2**20  # parts under 1 MB are not ratio-checked: tiny repetitive XML packs tightly
MAX_PARTS = 10_000  # zip members of one workbook; Excel writes a few dozen
ZIP_MAGIC = b"PK\x03\x04"
SAVE_AS_XLSX = "open it in Excel or LibreOffice and save it as Excel Workbook (.xlsx)"


def refuse(path: Path, message: str) -> SourceError:
    return SourceError(path.name, [message])


def part_name(name: str) -> str:
    """A zip member's part name with "/" separators (some programs write backslashes)."""
    return name.replace("\\", "/").lstrip("/")


def zip_directory(path: Path, data: bytes) -> list[zipfile.ZipInfo]:
    """The zip central directory, refused when damaged or when it promises a zip bomb."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error):
        raise refuse(
            path,
            "damaged or truncated: its zip directory is missing or broken (was a copy or download "
            "interrupted?); copy the file again from its source",
        ) from None
    if len(infos) > MAX_PARTS:
        raise refuse(
            path,
            f"refused: it holds {len(infos):,} zip parts, above the limit of {MAX_PARTS:,} "
            "(MAX_PARTS); a workbook holds a few dozen",
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise refuse(
            path,
            f"refused: its parts would unpack to {total / 2**20:,.0f} MB, above the limit of "
            f"{MAX_UNPACKED_BYTES // 2**20} MB (MAX_UNPACKED_BYTES); this looks like a zip bomb",
        )
    for info in infos:
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise refuse(
                path,
                f"refused: its part {info.filename!r} is packed {ratio:,.0f}:1, above the limit of "
                f"{MAX_RATIO}:1 (MAX_RATIO); this looks like a zip bomb",
            )
    return infos


def unpack(path: Path, data: bytes, infos: list[zipfile.ZipInfo]) -> dict[str, bytes]:
    """Unpack every part with a bounded decompressor (CRC checked); keep the XML parts by part name."""
    parts = {}
    for info in infos:
        content = inflate(path, data, info)
        if info.filename.endswith((".xml", ".rels")):
            parts[part_name(info.filename)] = content
    return parts


def repack(data: bytes, changed: dict[str, bytes]) -> bytes:
    """The zip with some parts replaced, every member otherwise as it was (names, order, method)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = changed.get(part_name(info.filename))
            dst.writestr(info, content if content is not None else src.read(info))
    return out.getvalue()


def inflate(path: Path, data: bytes, info: zipfile.ZipInfo) -> bytes:
    """One part, never unpacking more than its declared size plus one byte (so a lie is seen)."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise refuse(
            path, f"is password-protected: its part {name!r} is encrypted; remove the password and save it again"
        )
    start = info.header_offset
    header = data[start : start + 30]
    if len(header) < 30 or header[:4] != ZIP_MAGIC:
        raise refuse(path, f"damaged or truncated: its part {name!r} is missing; copy the file again from its source")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    begin = start + 30 + name_len + extra_len
    packed = data[begin : begin + info.compress_size]
    if len(packed) < info.compress_size:
        raise refuse(path, f"damaged or truncated: its part {name!r} is cut short; copy the file again from its source")
    if info.compress_type == zipfile.ZIP_STORED:
        content = packed
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        try:
            content = zlib.decompressobj(-15).decompress(packed, info.file_size + 1)
        except zlib.error:
            raise refuse(
                path, f"damaged: its part {name!r} cannot be unpacked; copy the file again from its source"
            ) from None
    else:
        raise refuse(
            path,
            f"refused: its part {name!r} uses zip compression method {info.compress_type}, which "
            f"Excel and LibreOffice do not write; {SAVE_AS_XLSX}",
        )
    if len(content) > info.file_size:
        raise refuse(path, _overflow(name, packed, info.file_size))
    if len(content) != info.file_size or zlib.crc32(content) != info.CRC:
        raise refuse(path, f"damaged: its part {name!r} fails its checksum (CRC); copy the file again from its source")
    return content


def _overflow(name: str, packed: bytes, declared: int) -> str:
    """Why a part unpacks to more than its directory declares: a bomb (it goes on unpacking far
    past any real part's ratio) or a damaged copy (the stream breaks or ends soon after).  The
    output is counted in chunks and dropped, so memory stays small either way."""
    cap = min(MAX_RATIO * max(len(packed), 1), MAX_UNPACKED_BYTES)
    inflater, produced, pending = zlib.decompressobj(-15), 0, packed
    try:
        while produced <= cap and not inflater.eof and pending:
            produced += len(inflater.decompress(pending, 2**20))
            pending = inflater.unconsumed_tail
    except zlib.error:
        produced = 0
    if produced > cap:
        return (
            f"refused: its part {name!r} unpacks to more than the {declared:,} bytes its zip directory declares: "
            "the file is damaged, or built to exhaust memory (a zip bomb); copy it again from its source"
        )
    return (
        f"damaged: its part {name!r} unpacks to more than the {declared:,} bytes its zip directory declares and "
        "fails its checksum (CRC): the copy was damaged on the way; copy the file again from its source"
    )
