"""Builders for the hostile-input tests (no tests here): bad files made at test time.

Every file is built in a temporary copy of the shipped data (never in data/raw/), from the
shipped annex or from SYNTHETIC content labelled so.  ``prepared`` gives a data folder whose
previous outputs exist, so each test can check that a failed run leaves them intact.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from kpi import cli, config, ingest, reference

SYNTHETIC = "SYNTHETIC TEST DATA"
ANNEX = "bc24_annex.xlsx"
RECORDS_HEADER = "ma_chi_tieu,chi_tieu,dia_ban,nam,gia_tri,don_vi,trich_dan,ghi_chu"


@pytest.fixture(scope="session")
def ingested_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped raw data ingested once: a data folder with previous outputs, to copy."""
    root = tmp_path_factory.mktemp("hostile_base") / "data"
    shutil.copytree(config.DATA_DIR / "raw", root / "raw")
    ingest.run(root)
    return root


@pytest.fixture
def prepared(ingested_once: Path, tmp_path: Path) -> Path:
    """A fresh copy of a data folder holding the shipped raw data and the outputs of a good run."""
    root = tmp_path / "data"
    shutil.copytree(ingested_once, root, symlinks=True)
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path: to prove outputs were left intact."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_meta(raw_file: Path, layout: str, source_id: str | None = None, priority: int = 3) -> None:
    """A provenance record for a test file, with its real checksum (so only the content is on trial)."""
    meta = {
        "source_id": source_id or raw_file.stem.replace(".", "_"),
        "title": f"{SYNTHETIC}: {raw_file.name}",
        "layout": layout,
        "priority": priority,
        "source": SYNTHETIC,
        "accessed": "2026-11-28",
        "transcription": "built by the test suite",
        "sha256": reference.sha256(raw_file),
    }
    reference.meta_path_of(raw_file).write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")


def put_raw(data: Path, name: str, content: bytes, layout: str, source_id: str | None = None) -> Path:
    path = data / "raw" / name
    path.write_bytes(content)
    write_meta(path, layout, source_id)
    return path


def replace_annex(data: Path, content: bytes) -> Path:
    """Replace the shipped annex by other bytes and record them (new checksum, same provenance)."""
    path = data / "raw" / ANNEX
    path.write_bytes(content)
    meta_file = reference.meta_path_of(path)
    meta = yaml.safe_load(meta_file.read_text(encoding="utf-8"))
    meta["sha256"] = reference.sha256(path)
    meta_file.write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    return path


def annex_bytes() -> bytes:
    return (config.DATA_DIR / "raw" / ANNEX).read_bytes()


def edited_annex(edit) -> bytes:
    """The shipped annex opened with openpyxl, changed by ``edit(workbook)``, saved to bytes."""
    wb = load_workbook(io.BytesIO(annex_bytes()))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def rezip(data: bytes, patch: dict[str, bytes | None], extra: dict[str, bytes] | None = None) -> bytes:
    """A copy of a zip archive with some members replaced (None drops one) and others added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = patch.get(info.filename, src.read(info.filename))
            if content is not None:
                dst.writestr(info.filename, content)
        for name, content in (extra or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def forge_size(data: bytes, member: str, size: int) -> bytes:
    """Make a zip lie: declare ``size`` as the unpacked size of ``member`` (local and central headers)."""
    buf = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        offset = zf.getinfo(member).header_offset
    struct.pack_into("<I", buf, offset + 22, size)
    pos = buf.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", buf, pos + 28)[0]
        if bytes(buf[pos + 46 : pos + 46 + name_len]).decode() == member:
            struct.pack_into("<I", buf, pos + 24, size)
        pos = buf.find(b"PK\x01\x02", pos + 4)
    return bytes(buf)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal Compound File (OLE2) container holding ``streams``: the shape of an .xls workbook
    or of a password-protected .xlsx (streams EncryptionInfo, EncryptedPackage).  Synthetic."""
    sector = 512
    end, free, fat_sect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    bodies = [content.ljust(max(4096, -(-len(content) // sector) * sector), b"\0") for content in streams.values()]
    fat, starts, next_sector = [fat_sect, end], [], 2
    for body in bodies:
        count = len(body) // sector
        starts.append(next_sector)
        fat += [next_sector + i + 1 for i in range(count - 1)] + [end]
        next_sector += count
    fat += [free] * (sector // 4 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBB3I", len(raw), kind, 1, free, right, child)
            + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )

    names = list(streams)
    entries = [entry("Root Entry", 5, 1 if names else free, free, end, 0)]
    entries += [
        entry(n, 2, free, i + 2 if i + 1 < len(names) else free, starts[i], len(streams[n]))
        for i, n in enumerate(names)
    ]
    directory = b"".join(entries).ljust(sector, b"\0")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    return header + struct.pack(f"<{sector // 4}I", *fat) + directory + b"".join(bodies)


def ods_file(table_xml: str, name: str = "Sheet1") -> bytes:
    """A minimal OpenDocument spreadsheet whose one table holds ``table_xml`` (rows). Synthetic."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{name}">{table_xml}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", content)
        zf.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def ods_row(*cells: str, attrs: str = "") -> str:
    """One .ods row; each cell is its XML (see ``ods_text``/``ods_number``) or '' for an empty cell."""
    return f"<table:table-row{attrs}>" + "".join(c or "<table:table-cell/>" for c in cells) + "</table:table-row>"


def ods_text(text: str, attrs: str = "") -> str:
    return f'<table:table-cell office:value-type="string"{attrs}><text:p>{text}</text:p></table:table-cell>'


def ods_number(value: float, attrs: str = "") -> str:
    return (
        f'<table:table-cell office:value-type="float" office:value="{value}"{attrs}>'
        f"<text:p>{value}</text:p></table:table-cell>"
    )


def run_ingest(data: Path) -> tuple[int, str, str]:
    """``kpi ingest --data-dir data`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["ingest", "--data-dir", str(data)])
    return code, out.getvalue(), err.getvalue()


def run_ingest_subprocess(data: Path) -> subprocess.CompletedProcess:
    """``python -m kpi.cli ingest --data-dir data`` as a user runs it: a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "kpi.cli", "ingest", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=180,
    )


def file_error(raw: Path, *problems: str) -> str:
    """The stderr of ``kpi ingest`` stopped by file-level problems of the raw folder ``raw``."""
    lines = "".join(f"  - {p}\n" for p in problems)
    return f"kpi ingest: error: {raw}: {len(problems)} problem(s)\n{lines}"


def rejects_of(data: Path) -> pd.DataFrame:
    return pd.read_csv(data / "processed" / "rejects.csv", dtype=str, keep_default_na=False)
