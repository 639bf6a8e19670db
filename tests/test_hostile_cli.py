"""`kpi ingest` as a user runs it (a fresh interpreter) on a representative set of hostile inputs:
the exit code is right and no Python traceback reaches the screen."""

from __future__ import annotations

import datetime

import pytest

from .test_hostile_csv import redelimited, to_cp1258
from .test_hostile_files import BILLION_LAUGHS, ZIP_BOMB_PAD, with_dtd
from .test_hostile_kit import (
    ANNEX,
    annex_bytes,
    compound_file,
    edited_annex,
    ingested_once,
    prepared,
    put_raw,
    rejects_of,
    replace_annex,
    rezip,
    run_ingest_subprocess,
    snapshot,
)

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

__all__ = ["ingested_once", "prepared"]  # fixtures used here


def bad_cells(wb) -> None:
    ws = wb["03_ChanNuoi"]
    ws.row_dimensions[14].hidden = True  # Thèn Sin: E14 holds 01
    ws["E10"] = datetime.date(2022, 5, 1)


def link_out(data) -> None:
    outside = data.parent / "outside.csv"
    outside.write_text("x\n", encoding="utf-8")
    (data / "raw" / "linked.csv").symlink_to(outside)


FILE_LEVEL = [
    pytest.param(lambda d: replace_annex(d, annex_bytes()[:3000]), f"{ANNEX}: damaged or truncated", id="truncated"),
    pytest.param(
        lambda d: replace_annex(d, compound_file({"EncryptionInfo": b"\x04\x00", "EncryptedPackage": b"x"})),
        f"{ANNEX}: is password-protected (encrypted)",
        id="encrypted",
    ),
    pytest.param(
        lambda d: replace_annex(d, rezip(annex_bytes(), {}, {"xl/media/p.bin": b"\0" * ZIP_BOMB_PAD})),
        f"{ANNEX}: refused: its part 'xl/media/p.bin' is packed",
        id="zip-bomb",
    ),
    pytest.param(
        lambda d: replace_annex(d, with_dtd(BILLION_LAUGHS)()),
        f"{ANNEX}: refused: its part 'xl/worksheets/sheet4.xml' declares a DOCTYPE",
        id="billion-laughs",
    ),
    pytest.param(link_out, "linked.csv: is a link to ", id="link-outside"),
]


@pytest.mark.parametrize("make_bad, start", FILE_LEVEL)
def test_file_problems_exit_2_without_traceback(prepared, make_bad, start):
    before = snapshot(prepared / "processed")
    make_bad(prepared)
    run = run_ingest_subprocess(prepared)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    lines = run.stderr.splitlines()
    assert lines[0].startswith("kpi ingest: error: ") and lines[0].endswith(": 1 problem(s)")
    assert lines[1].startswith(f"  - {start}") and len(lines) == 2
    assert snapshot(prepared / "processed") == before


def test_cell_problems_exit_1_and_fill_the_rejects(prepared):
    replace_annex(prepared, edited_annex(bad_cells))
    run = run_ingest_subprocess(prepared)
    assert (run.returncode, run.stderr) == (1, "")
    assert "rejects: 2 (see rejects.csv)" in run.stdout
    assert sorted(rejects_of(prepared)["source_ref"]) == [f"{ANNEX}!03_ChanNuoi!E10", f"{ANNEX}!03_ChanNuoi!E14"]


def test_windows_1258_semicolon_csv_exits_0(prepared):
    text = redelimited((prepared / "raw" / "bc24_new_rural.csv").read_text(encoding="utf-8"), ";")
    put_raw(prepared, "bc24_new_rural.csv", to_cp1258(text), "records_csv", "bc24_new_rural")
    run = run_ingest_subprocess(prepared)
    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    assert "rejects: 0" in run.stdout
