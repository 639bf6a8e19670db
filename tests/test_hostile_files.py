"""Hostile files: each bad workbook stops `kpi ingest` with one clear line, exit 2, no traceback,
and the previous processed outputs are left exactly as they were.

Bad files are built at test time in a temporary copy of the data (see test_hostile_kit).
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.cell_range import CellRange

from kpi import safety
from kpi.errors import SourceError

from .test_hostile_kit import (
    ANNEX,
    annex_bytes,
    compound_file,
    edited_annex,
    file_error,
    forge_size,
    ingested_once,
    prepared,
    put_raw,
    rejects_of,
    replace_annex,
    rezip,
    run_ingest,
    snapshot,
)

__all__ = ["ingested_once", "prepared"]  # fixtures used here

SAVE_AS = "open it in Excel or LibreOffice and save it as Excel Workbook (.xlsx)"
ZIP_BOMB_PAD = 8 * 2**20  # 8 MB of zeros packs to ~8 kB: far above the 100:1 limit, cheap to build
SHEET2_BYTES = zipfile.ZipFile(io.BytesIO(annex_bytes())).getinfo("xl/worksheets/sheet2.xml").file_size


def flipped_part(data: bytes, member: str) -> bytes:
    """The annex with bytes in the middle of one packed part overwritten (a damaged copy)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(member)
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    return data[:start] + b"\xff" * 16 + data[start + 16 :]


def empty_workbook() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


def renamed_sheet(wb) -> None:
    wb["02_Che"].title = "Chè 2022"


def with_dtd(doctype: str):
    """The annex whose sheet 04_CaNuocLanh declares ``doctype`` and uses its entity in a cell."""

    def build() -> bytes:
        data = annex_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            xml = zf.read("xl/worksheets/sheet4.xml").decode("utf-8")
        xml = (
            xml.replace(
                "</sheetData>", '<row r="20"><c r="B20" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>'
            )
            if "lol9" in doctype
            else xml
        )
        return rezip(data, {"xl/worksheets/sheet4.xml": (doctype + xml).encode("utf-8")})

    return build


BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
EXTERNAL_ENTITY = '<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


def dtd_problem(part: str) -> str:
    return (
        f"{ANNEX}: refused: its part {part!r} declares a DOCTYPE or ENTITY (external entities or entity "
        "expansion, as in the 'billion laughs' attack); Excel and LibreOffice never write one -- ask for the "
        "file as Excel or LibreOffice saved it"
    )


CASES = [
    pytest.param(
        lambda: annex_bytes()[:3000],
        f"{ANNEX}: damaged or truncated: its zip directory is missing or broken (was a copy or download "
        "interrupted?); copy the file again from its source",
        id="truncated-xlsx",
    ),
    pytest.param(
        lambda: flipped_part(annex_bytes(), "xl/worksheets/sheet2.xml"),
        f"{ANNEX}: damaged: its part 'xl/worksheets/sheet2.xml' unpacks to more than the {SHEET2_BYTES:,} "
        "bytes its zip directory declares and fails its checksum (CRC): the copy was damaged on the way; "
        "copy the file again from its source",
        id="corrupt-part",
    ),
    pytest.param(
        lambda: flipped_part(annex_bytes(), "xl/styles.xml"),
        f"{ANNEX}: damaged: its part 'xl/styles.xml' cannot be unpacked; copy the file again from its source",
        id="corrupt-part-2",
    ),
    pytest.param(
        lambda: b"%PDF-1.7\n% synthetic\n",
        f"{ANNEX}: not an Excel or OpenDocument workbook: it is a PDF document; {SAVE_AS}",
        id="pdf-named-xlsx",
    ),
    pytest.param(
        "ma,ten\n1,Bản Hòn\n".encode,
        f"{ANNEX}: not an Excel or OpenDocument workbook: it is plain text (a CSV file renamed?); {SAVE_AS}",
        id="csv-named-xlsx",
    ),
    pytest.param(
        lambda: b"<!DOCTYPE html><html><body><table></table></body></html>",
        f"{ANNEX}: not an Excel or OpenDocument workbook: it is a web page (HTML), as web exports and "
        f"'Save as Web Page' write; {SAVE_AS}",
        id="html-named-xlsx",
    ),
    pytest.param(
        lambda: b"",
        f"{ANNEX}: not an Excel or OpenDocument workbook: it is an empty file (0 bytes); {SAVE_AS}",
        id="zero-bytes",
    ),
    pytest.param(
        lambda: compound_file(
            {"EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 60, "EncryptedPackage": bytes(range(256)) * 20}
        ),
        f"{ANNEX}: is password-protected (encrypted), so it cannot be read: remove the password (Excel: "
        "File > Info > Protect Workbook > Encrypt with Password, clear it; LibreOffice: Save As without "
        "'Save with password') and save it again",
        id="encrypted-cdf",
    ),
    pytest.param(
        lambda: compound_file({"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00" + b"\x00" * 100}),
        f"{ANNEX}: damaged: its workbook stream cannot be followed (OLE2 stream 'Workbook (from SSCS)': "
        f"sector allocation table invalid entry (2)); copy the file again from its source, or {SAVE_AS}",
        id="xls-stream-not-where-its-size-says",
    ),
    pytest.param(
        lambda: rezip(annex_bytes(), {"xl/workbook.xml": None}, {"word/document.xml": b"<w:document/>"}),
        f"{ANNEX}: not an Excel or OpenDocument workbook: it is a Word document (.docx); {SAVE_AS}",
        id="docx-named-xlsx",
    ),
    pytest.param(
        empty_workbook,
        f"{ANNEX}: the workbook is empty: none of its sheets (Sheet) holds a cell; is it the right file?",
        id="empty-workbook",
    ),
    pytest.param(
        lambda: rezip(annex_bytes(), {}, {"xl/media/padding.bin": b"\0" * ZIP_BOMB_PAD}),
        f"{ANNEX}: refused: its part 'xl/media/padding.bin' is packed 1,028:1, above the limit of 100:1 "
        "(MAX_RATIO); this looks like a zip bomb",
        id="zip-bomb-ratio",
    ),
    pytest.param(
        lambda: forge_size(
            rezip(annex_bytes(), {}, {"xl/media/padding.bin": b"\0" * 1000}), "xl/media/padding.bin", 300 * 2**20
        ),
        f"{ANNEX}: refused: its parts would unpack to 300 MB, above the limit of 200 MB "
        "(MAX_UNPACKED_BYTES); this looks like a zip bomb",
        id="zip-bomb-declared-total",
    ),
    pytest.param(
        lambda: forge_size(
            rezip(annex_bytes(), {}, {"xl/media/padding.bin": b"\0" * ZIP_BOMB_PAD}), "xl/media/padding.bin", 1000
        ),
        f"{ANNEX}: refused: its part 'xl/media/padding.bin' unpacks to more than the 1,000 bytes its zip "
        "directory declares: the file is damaged, or built to exhaust memory (a zip bomb); copy it again "
        "from its source",
        id="zip-bomb-lying-directory",
    ),
    pytest.param(with_dtd(BILLION_LAUGHS), dtd_problem("xl/worksheets/sheet4.xml"), id="billion-laughs"),
    pytest.param(with_dtd(EXTERNAL_ENTITY), dtd_problem("xl/worksheets/sheet4.xml"), id="external-entity"),
    pytest.param(
        lambda: rezip(
            annex_bytes(),
            {},
            {
                "xl/sharedStrings.xml": ('<?xml version="1.0" encoding="UTF-16"?>' + EXTERNAL_ENTITY + "<sst/>").encode(
                    "utf-16"
                )
            },
        ),
        dtd_problem("xl/sharedStrings.xml"),
        id="entity-in-utf-16-part",
    ),
]


@pytest.mark.parametrize("build, message", CASES)
def test_bad_workbook_stops_ingest_and_keeps_previous_outputs(prepared, build, message):
    before = snapshot(prepared / "processed")
    replace_annex(prepared, build())
    code, out, err = run_ingest(prepared)
    assert (code, out, err) == (2, "", file_error(prepared / "raw", message))
    assert snapshot(prepared / "processed") == before
    assert not list(prepared.glob(".processed.staging-*"))


def header_moved_down(wb) -> None:
    """A title row inserted above the table of 02_Che (merged ranges move with it, as in Excel)."""
    ws = wb["02_Che"]
    ranges = [CellRange(str(r)) for r in ws.merged_cells.ranges]
    for r in ranges:
        ws.unmerge_cells(r.coord)
    ws.insert_rows(1)
    for r in ranges:
        r.shift(row_shift=1)
        ws.merge_cells(r.coord)


def extra_column(wb) -> None:
    ws = wb["02_Che"]
    ws["I5"], ws["I6"], ws["I7"] = "Diện tích chè Shan tuyết", "ha", "300"


def missing_column(wb) -> None:
    ws = wb["04_CaNuocLanh"]
    for row in ws.iter_rows(min_row=5, min_col=8, max_col=8):
        row[0].value = None


def emptied_sheet(wb) -> None:
    ws = wb["02_Che"]
    for r in [str(r) for r in ws.merged_cells.ranges]:
        ws.unmerge_cells(r)
    ws.delete_rows(1, ws.max_row)


def second_table(wb) -> None:
    """A second table typed right under the first one of 04_CaNuocLanh, before the notes."""
    ws = wb["04_CaNuocLanh"]
    ws.insert_rows(11, 3)
    ws["B12"], ws["C12"] = "Đơn vị hành chính\nAdministrative unit", "Số hộ nuôi\nHouseholds"
    ws["B13"], ws["C13"] = "Sơn Bình", 7


LAYOUT_CASES = [
    pytest.param(
        renamed_sheet,
        [f"{ANNEX}: sheet '02_Che' not found (sheets: 01_LuongThuc, Chè 2022, 03_ChanNuoi, 04_CaNuocLanh)"],
        id="renamed-sheet",
    ),
    pytest.param(
        lambda wb: wb.remove(wb["03_ChanNuoi"]),
        [
            f"{ANNEX}: sheet '03_ChanNuoi' not found; closest: '04_CaNuocLanh' "
            "(sheets: 01_LuongThuc, 02_Che, 04_CaNuocLanh)"
        ],
        id="missing-sheet",
    ),
    pytest.param(
        emptied_sheet,
        [f"{ANNEX}: sheet '02_Che' is empty: expected a table with its header rows 4, 5"],
        id="empty-sheet",
    ),
    pytest.param(
        header_moved_down,
        [
            f"{ANNEX}: sheet '02_Che': the table header is on rows 5, 6, not on rows 4, 5 as its layout says "
            "(a row was inserted or deleted above the table); restore the form's layout"
        ],
        id="header-on-another-row",
    ),
    pytest.param(
        extra_column,
        [
            f"{ANNEX}: sheet '02_Che': unknown column 'Diện tích chè Shan tuyết' at I5; "
            "closest: 'Tổng diện tích chè Total tea area'"
        ],
        id="extra-column",
    ),
    pytest.param(
        missing_column,
        [
            f"{ANNEX}: sheet '04_CaNuocLanh': column 'Loại bể nuôi - Tank type / Bể bạt Tarpaulin tanks' not "
            "found in header rows 4, 5; closest: 'Loại bể nuôi - Tank type / Bể kiên cố Concrete tanks'"
        ],
        id="missing-column",
    ),
    pytest.param(
        second_table,
        [
            f"{ANNEX}: sheet '04_CaNuocLanh': a second table starts at row 12 (B12 repeats the header "
            "'Đơn vị hành chính Administrative unit'); only one table per sheet is read: move it to its own "
            "sheet"
        ],
        id="second-table-under-the-first",
    ),
]


@pytest.mark.parametrize("edit, messages", LAYOUT_CASES)
def test_layout_drift_stops_ingest_with_one_line_per_problem(prepared, edit, messages):
    before = snapshot(prepared / "processed")
    replace_annex(prepared, edited_annex(edit))
    code, out, err = run_ingest(prepared)
    assert (code, out, err) == (2, "", file_error(prepared / "raw", *messages))
    assert snapshot(prepared / "processed") == before


def test_sheet_name_in_other_case_is_the_same_sheet(prepared):
    """``02_CHE`` is the layout's ``02_Che``: sheet names match like headers, ignoring case and marks."""

    def shout(wb):
        wb["02_Che"].title = "tmp"  # openpyxl would call it 02_CHE1 beside a sheet it still thinks is 02_Che
        wb["tmp"].title = "02_CHE"

    replace_annex(prepared, edited_annex(shout))
    code, _, err = run_ingest(prepared)
    assert (code, err) == (0, "")
    obs = (prepared / "processed" / "observations.csv").read_text(encoding="utf-8")
    assert f"{ANNEX}!02_CHE!C7" in obs


def test_malformed_sheet_xml_is_a_damaged_file(prepared):
    """Sheet XML cut in the middle: calamine's own words, after the file and sheet, and no traceback."""
    with zipfile.ZipFile(io.BytesIO(annex_bytes())) as zf:
        xml = zf.read("xl/worksheets/sheet4.xml")
    replace_annex(prepared, rezip(annex_bytes(), {"xl/worksheets/sheet4.xml": xml[: len(xml) // 2]}))
    code, _, err = run_ingest(prepared)
    assert code == 2
    line = err.splitlines()[1]
    assert line.startswith(f"  - {ANNEX}: sheet '04_CaNuocLanh' cannot be read: ") and line.endswith(SAVE_AS)


def test_changed_file_names_both_the_checksum_and_the_damage(prepared):
    """A damaged copy whose provenance record was not updated: both problems, at once."""
    (prepared / "raw" / ANNEX).write_bytes(annex_bytes()[:3000])
    code, _, err = run_ingest(prepared)
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == f"kpi ingest: error: {prepared / 'raw'}: 2 problem(s)"
    assert lines[1].startswith(f"  - {ANNEX}: sha256 is ") and "a raw file changed" in lines[1]
    assert (
        lines[2] == f"  - {ANNEX}: damaged or truncated: its zip directory is missing or broken (was a copy or "
        "download interrupted?); copy the file again from its source"
    )


def test_problems_of_several_files_are_reported_together(prepared):
    replace_annex(prepared, b"%PDF-1.7\n")
    put_raw(prepared, "extra.xlsx", compound_file({"Workbook": b"\x09\x08" + b"\0" * 64}), "bc24_annex", "extra")
    code, _, err = run_ingest(prepared)
    assert code == 2
    assert err.splitlines()[0] == f"kpi ingest: error: {prepared / 'raw'}: 2 problem(s)"
    assert [line.split(":")[0] for line in err.splitlines()[1:]] == [f"  - {ANNEX}", "  - extra.xlsx"]


# --- files that cannot be read -------------------------------------------------------------

PERMISSION = (
    f"{ANNEX}: cannot be read: permission denied (is it open in another program, or are its access "
    "rights too strict? give your user read access and run again)"
)


def test_unreadable_file_is_one_clear_line(prepared, monkeypatch):
    """Tests run as root, who may read anything: the operating system's refusal is simulated."""
    before = snapshot(prepared / "processed")
    target = prepared / "raw" / ANNEX
    real_open = Path.open

    def denied(self, *args, **kwargs):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    code, out, err = run_ingest(prepared)
    assert (code, out, err) == (2, "", file_error(prepared / "raw", PERMISSION))
    assert snapshot(prepared / "processed") == before


def test_unreadable_file_is_refused_by_the_reader_too(tmp_path, monkeypatch):
    """The reader itself (not only the checksum step) turns the refusal into a SourceError."""
    path = tmp_path / ANNEX
    path.write_bytes(annex_bytes())
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: (_ for _ in ()).throw(PermissionError(13, "denied")))
    with pytest.raises(SourceError) as err:
        safety.check_workbook(path)
    assert err.value.problems == [PERMISSION.split(": ", 1)[1]]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode; covered by the monkeypatch test")
def test_unreadable_file_by_its_mode(prepared):
    path = prepared / "raw" / ANNEX
    path.chmod(0)
    try:
        code, _, err = run_ingest(prepared)
    finally:
        path.chmod(0o644)
    assert (code, err) == (2, file_error(prepared / "raw", PERMISSION))


# --- links out of the data folder ----------------------------------------------------------


def test_link_out_of_the_raw_folder_is_refused(prepared, tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("ma_chi_tieu\n", encoding="utf-8")
    link = prepared / "raw" / "linked.csv"
    link.symlink_to(outside)
    (prepared / "raw" / "linked.csv.meta.yml").write_text("source_id: linked\n", encoding="utf-8")
    before = snapshot(prepared / "processed")
    code, out, err = run_ingest(prepared)
    assert code == 2 and out == ""
    assert err == (
        f"kpi ingest: error: {prepared / 'raw'}: 1 problem(s)\n"
        f"  - linked.csv: is a link to {outside.resolve()}, outside the raw data folder: refused; copy "
        "the file into data/raw instead of linking it\n"
    )
    assert snapshot(prepared / "processed") == before


def test_broken_link_is_reported_not_skipped(prepared):
    (prepared / "raw" / "gone.csv").symlink_to(prepared / "raw" / "no_such_file.csv")
    code, _, err = run_ingest(prepared)
    assert code == 2
    assert err.splitlines()[1] == (
        "  - gone.csv: is a broken link (what it points to does not exist): refused; copy the file into data/raw"
    )


def test_link_inside_the_raw_folder_is_read(prepared):
    """A raw folder that is itself a link (a shared drive) is fine: only escapes are refused."""
    shared = prepared.parent / "shared_raw"
    (prepared / "raw").rename(shared)
    (prepared / "raw").symlink_to(shared, target_is_directory=True)
    code, _, err = run_ingest(prepared)
    assert (code, err) == (0, "")
    assert rejects_of(prepared).empty
