"""A stray value far from the table: memory follows the cells that exist, not the distance
between them, and the stray is reported by its address and value.

Peak memory is measured on `kpi check` in a fresh process (a wrapper process runs it and reads
its children's peak resident size), with no time limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import xlwt
from openpyxl import load_workbook

from kpi import ingest

from .test_hostile_kit import ods_file, ods_number, ods_row, ods_text, rejects_of
from .yearly import add_to_raw, filled_form

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

MAX_PEAK_MB = 300  # `kpi check` on any spreadsheet stays under this (the bound)

MEASURE = textwrap.dedent("""
    import json, resource, subprocess, sys
    run = subprocess.run([sys.executable, "-m", "kpi.cli", "check", *sys.argv[1:]], capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"code": run.returncode, "out": run.stdout, "err": run.stderr, "peak_mb": peak / 1024}))
""")


def checked(*args: str) -> dict:
    """`kpi check <args>` in a fresh process: exit code, output and its peak memory in MB."""
    run = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def form_with(tmp_path, cells: dict[str, object], sheet: str = "3_ChanNuoi"):
    """The 2023 form filled with SYNTHETIC figures, then values typed far from its table."""
    form = filled_form(2023, tmp_path / "tam_duong_2023.xlsx")
    wb = load_workbook(form)
    for ref, value in cells.items():
        wb[sheet][ref] = value
    wb.save(form)
    return form


@pytest.mark.parametrize("ref", ["XFD1048576", "XFD5000", "Z1048576"])
def test_far_stray_in_a_form_is_reported_by_address_within_bounded_memory(tmp_path, ref):
    form = form_with(tmp_path, {ref: 7})
    run = checked(str(form))
    assert run["code"] == 1, run["err"]
    lines = run["out"].splitlines()
    assert lines[0] == "tam_duong_2023.xlsx (layout kpi_template): 1 problem(s)"
    assert lines[1].startswith(f"  - tam_duong_2023.xlsx!3_ChanNuoi!{ref}: '7': a value far from the table")
    assert run["peak_mb"] < MAX_PEAK_MB, run


def test_far_stray_in_a_sheet_no_layout_reads_costs_nothing(tmp_path):
    form = form_with(tmp_path, {"XFD1048576": "ghi chú"}, sheet="0_HuongDan")
    run = checked(str(form))
    assert run["code"] == 0 and "OK," in run["out"], run
    assert run["peak_mb"] < MAX_PEAK_MB, run


def test_values_spread_over_a_whole_sheet_are_one_problem(tmp_path):
    """Values every 900 rows down to the last row: no gap large enough to call one a stray."""
    form = form_with(tmp_path, {f"{col}{row}": 1 for row in range(900, 1_048_577, 900) for col in "AZ"})
    run = checked(str(form))
    assert run["code"] == 1
    line = run["out"].splitlines()[1]
    assert "sheet '3_ChanNuoi': its values spread over A1:Z1048500 (1,048,500 rows × 26 columns)" in line
    assert run["peak_mb"] < MAX_PEAK_MB, run


def test_far_stray_in_ods_and_xls(tmp_path):
    ods = tmp_path / "far.ods"
    ods.write_bytes(
        ods_file(
            ods_row(ods_text("SYNTHETIC TEST DATA"), ods_number(1))
            + ods_row(attrs=' table:number-rows-repeated="1048570"')
            + ods_row(*[""] * 25, ods_number(2)),
            name="04_CaNuocLanh",
        )
    )
    xls = tmp_path / "far.xls"
    book = xlwt.Workbook()
    sheet = book.add_sheet("04_CaNuocLanh")
    sheet.write(0, 0, "SYNTHETIC TEST DATA")
    sheet.write(65535, 255, 3)
    book.save(str(xls))
    for path, ref, value in [(ods, "Z1048572", "2"), (xls, "IV65536", "3")]:
        run = checked(str(path), "--layout", "bc24_annex")
        assert f"{path.name}!04_CaNuocLanh!{ref}: '{value}': a value far from the table" in run["out"], run
        assert run["peak_mb"] < MAX_PEAK_MB, run


def test_ingest_rejects_the_stray_and_keeps_the_table(tmp_path, data_dir):
    add_to_raw(form_with(tmp_path, {"XFD1048576": "1.234"}), data_dir / "raw")
    result = ingest.run(data_dir)
    assert result.exit_code == 1
    rejects = rejects_of(data_dir)
    assert rejects[["source_ref", "field", "raw_value"]].values.tolist() == [
        ["tam_duong_2023.xlsx!3_ChanNuoi!XFD1048576", "position", "1.234"]
    ]
    livestock = result.observations[
        (result.observations["source_id"] == "tam_duong_2023")
        & result.observations["indicator"].str.startswith("livestock.")
    ]
    assert len(livestock) > 10


def test_quick_box_of_plain_sheets_is_the_box_of_the_general_scan():
    """Seeded sheet XML (synthetic): cells as Excel writes them, and with a prefix, the address
    after another attribute or in lower case, a tab, no address, a seven-digit row.  Where the
    quick pass answers, the box is the general patterns' box; elsewhere they answer."""
    import random

    from kpi import extent

    def general(xml):
        refs = extent._XLSX_CELL_REF.findall(xml)
        if len(refs) != len(extent._XLSX_CELL.findall(xml)):
            return None
        return extent._box_of(refs)

    odd = ['<c s="1" r="{a}">', '<x:c r="{a}">', '<c\tr="{a}">', '<c r="{l}">', "<c>", '<c r="A12345678">']
    rng = random.Random(20261204)
    for _ in range(300):
        cells = []
        for _ in range(rng.randint(0, 8)):
            address = f"{rng.choice(['A', 'B', 'Z', 'AA', 'XFD'])}{rng.randint(1, 1048576)}"
            tag = rng.choice(['<c r="{a}" t="s">', '<c r="{a}">', '<c r="{a}"/>'] + (odd if rng.random() < 0.3 else []))
            tag = tag.format(a=address, l=address.lower())
            cells.append(tag if tag.endswith("/>") else f"{tag}<v>1</v></c>")
        xml = ('<worksheet><cols><col min="1"/></cols><sheetData><row r="1">' + "".join(cells) + "</row>").encode()
        assert extent.xlsx_quick_box(xml) == general(xml), xml


def test_marker_scan_finds_what_the_one_pattern_finds():
    """Seeded XML snippets (synthetic) with hidden rows, formulas (prefixed or not), error cells
    in either quote and near misses: the quick scan answers as ``XLSX_MARKERS`` does."""
    import random

    from kpi import marks

    pieces = [
        '<row r="1">',
        '<row r="2" hidden="1">',
        "hidden='true'",
        'hidden="0"',
        '<c r="A1" t="s"><v>0</v></c>',
        "<f>A1+1</f>",
        "<x:f>SUM(A1)</x:f>",
        "<x:f/>",
        '<c r="B2" t="e">',
        "<c t='e'>",
        "t=\"e'",
        "<fill>",
        ":fx",
        'xml:space="preserve"',
        "<formula>",
        'ht="e"',
        '\tt="e"',
    ]
    rng = random.Random(20261204)
    for _ in range(500):
        xml = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))).encode()
        assert marks.has_markers(xml) == bool(marks.XLSX_MARKERS.search(xml)), xml
