"""Messages that used to mislead: each file is built the way the problem arises, and the message
is checked by what it names (file, sheet, cell, value), not copied from the code."""

from __future__ import annotations

import io
import os
import re
import zipfile

import pytest
from openpyxl import Workbook

from kpi.check import check_file

from .test_hostile_kit import ANNEX, annex_bytes, ingested_once, prepared, rejects_of, replace_annex, run_ingest

__all__ = ["ingested_once", "prepared"]  # fixtures used here


def encrypted_ods() -> bytes:
    """An .ods as LibreOffice saves it with a password: the manifest lists encryption-data for each
    part, whose bytes are ciphertext (SYNTHETIC random bytes here, stored as the spec says)."""
    entry = (
        '<manifest:file-entry manifest:full-path="{part}" manifest:media-type="text/xml" manifest:size="2048">'
        '<manifest:encryption-data manifest:checksum-type="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0'
        '#sha256-1k" manifest:checksum="c2ludGhldGlj"><manifest:algorithm manifest:algorithm-name='
        '"http://www.w3.org/2001/04/xmlenc#aes256-cbc" manifest:initialisation-vector="aXZpdml2aXZpdml2"/>'
        '<manifest:start-key-generation manifest:start-key-generation-name="http://www.w3.org/2000/09/xmldsig'
        '#sha256" manifest:key-size="32"/><manifest:key-derivation manifest:key-derivation-name="PBKDF2" '
        'manifest:key-size="32" manifest:iteration-count="100000" manifest:salt="c2FsdHNhbHQ="/>'
        "</manifest:encryption-data></manifest:file-entry>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
        'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        + entry.format(part="content.xml")
        + entry.format(part="styles.xml")
        + "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        for part in ("content.xml", "styles.xml"):
            zf.writestr(zipfile.ZipInfo(part), os.urandom(2048))
        zf.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_encrypted_ods_says_password_protected(tmp_path):
    path = tmp_path / "locked.ods"
    path.write_bytes(encrypted_ods())
    report = check_file(path, "bc24_annex")
    assert len(report.problems) == 1
    assert report.problems[0].startswith("is password-protected (encrypted)")
    assert "LibreOffice" in report.problems[0] and "detect" not in report.problems[0]


ERRORS_ONLY = (
    '<sheetData><row r="1"><c r="A1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
    '<c r="B1" t="e"><f>"a"+1</f><v>#VALUE!</v></c></row>'
    '<row r="2"><c r="A2" t="e"><f t="array" ref="A2:A3">1/0</f><v>#DIV/0!</v></c></row>'
    '<row r="3"><c r="A3" t="e"><v>#DIV/0!</v></c></row></sheetData>'
)


def errors_only_workbook() -> bytes:
    """The annex's sheet names, each sheet holding only formulas whose cached results are errors
    (as Excel saves a sheet of broken formulas; openpyxl cannot write cached values, so the
    sheet XML is written as Excel writes it)."""
    wb = Workbook()
    wb.active.title = "01_LuongThuc"
    for name in ("02_Che", "03_ChanNuoi", "04_CaNuocLanh"):
        wb.create_sheet(name)
    out = io.BytesIO()
    wb.save(out)
    data = out.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    for name in parts:
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = re.sub(rb"<sheetData\s*/>|<sheetData>.*?</sheetData>", ERRORS_ONLY.encode(), parts[name])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, content in parts.items():
            dst.writestr(name, content)
    return out.getvalue()


def test_sheets_of_error_formulas_are_not_called_empty(prepared):
    replace_annex(prepared, errors_only_workbook())
    code, _, err = run_ingest(prepared)
    assert code == 2
    problems = err.splitlines()[1:]
    assert len(problems) == 1 and "empty" not in problems[0]
    assert problems[0].startswith(f"  - {ANNEX}: the workbook holds no figures, only formulas whose results are errors")
    assert "01_LuongThuc!A1 #DIV/0! (formula =1/0)" in problems[0] and "#VALUE!" in problems[0]


def test_a_thousand_sheet_names_are_not_all_listed(tmp_path):
    wb = Workbook()
    wb.active.title = "S0"
    wb.active["A1"] = "SYNTHETIC TEST DATA"
    for i in range(1, 1000):
        wb.create_sheet(f"S{i}")
    wb.save(tmp_path / "many.xlsx")
    report = check_file(tmp_path / "many.xlsx", "bc24_annex")
    assert len(report.problems) == 4
    for line in report.problems:
        assert "(1,000 in all)" in line and "S7" in line and "S999" not in line and len(line) < 300


def rebuilt(rename=lambda name: name, patch=lambda name, content: content) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(annex_bytes())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(rename(info.filename), patch(info.filename, src.read(info.filename)))
    return out.getvalue()


def workbook_at_the_root() -> bytes:
    """The annex with its workbook part at the root of the package, as some generators write it."""
    moved = {"xl/workbook.xml": "workbook.xml", "xl/_rels/workbook.xml.rels": "_rels/workbook.xml.rels"}

    def patch(name: str, content: bytes) -> bytes:
        if name in ("_rels/.rels", "[Content_Types].xml"):
            return content.replace(b"xl/workbook.xml", b"workbook.xml")
        if name == "xl/_rels/workbook.xml.rels":
            return re.sub(rb'Target="(?!/)', b'Target="xl/', content)
        return content

    return rebuilt(lambda name: moved.get(name, name), patch)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: rebuilt(lambda name: name.replace("/", "\\")), id="backslash-part-names"),
        pytest.param(workbook_at_the_root, id="workbook-part-at-the-root"),
    ],
)
def test_packages_calamine_reads_are_read(prepared, build):
    before = (prepared / "processed" / "observations.csv").read_text(encoding="utf-8")
    replace_annex(prepared, build())
    code, _, err = run_ingest(prepared)
    assert (code, err) == (0, "")
    assert rejects_of(prepared).empty
    assert (prepared / "processed" / "observations.csv").read_text(encoding="utf-8") == before


def test_a_workbook_calamine_refuses_gives_calamine_s_own_reason(tmp_path):
    """An .ods whose content.xml closes a row with a mistyped tag (a hand-edited file): calamine's
    reason names the tag, where reading from memory only said "Cannot detect file format"."""
    from .test_hostile_kit import ods_file, ods_row, ods_text

    src = zipfile.ZipFile(io.BytesIO(ods_file(ods_row(ods_text("SYNTHETIC")), name="04_CaNuocLanh")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(
                info,
                content.replace(b"</table:table-row>", b"</table:table-rw>", 1)
                if info.filename == "content.xml"
                else content,
            )
    path = tmp_path / "hand_edited.ods"
    path.write_bytes(out.getvalue())
    problems = check_file(path, "bc24_annex").problems
    assert len(problems) == 1 and problems[0].startswith("cannot be read as a workbook: ")
    assert "table:table-rw" in problems[0] and "Cannot detect file format" not in problems[0]
