"""CSV text as users send it: old-Mac line ends (CR alone), blank lines above the header,
tab-separated .tsv files; a file that fits no layout; a fault of kpi on one file among several."""

from __future__ import annotations

import csv

import pytest

from kpi import cli
from kpi.check import check_file, check_files

from .test_hostile_kit import (
    ANNEX,
    RECORDS_HEADER,
    ingested_once,
    prepared,
    put_raw,
    rejects_of,
    replace_annex,
    run_ingest,
)

__all__ = ["ingested_once", "prepared"]  # fixtures used here

LINES = [
    "tea.area,,Huyện Tam Đường,2019,12,ha,§test,",
    "tea.area,,Huyện Tam Đường,2020,74,03,ha,§test,",
    "tea.area,,Huyện Tam Đường,2021,13,ha,§test,",
]  # SYNTHETIC; line 3 has a decimal comma out of quotes


def records(end: str, above: str = "") -> bytes:
    return (above + end.join([RECORDS_HEADER] + LINES) + end).encode("utf-8")


@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"], ids=["cr", "lf", "crlf"])
def test_line_ends_give_the_same_lines_in_ingest(prepared, end):
    put_raw(prepared, "lines.csv", records(end), "records_csv", "lines")
    code, _, err = run_ingest(prepared)
    assert (code, err) == (1, "")
    rejects = rejects_of(prepared)
    assert rejects[rejects["source_id"] == "lines"][["source_ref", "reason"]].values.tolist() == [
        ["lines.csv:3", "line has 9 fields, the header has 8; a value holding ',' must be in double quotes"]
    ]


def test_cr_only_csv_checks_like_any_other(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(records("\r").replace(b",74,03,", b',"74,03",'))
    report = check_file(path)
    assert report.ok, report.lines()
    assert (report.layout, report.values) == ("records_csv", 3)


def test_blank_lines_above_the_header_are_skipped_and_the_header_line_named(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(records("\n", above="\n \n").replace(b"gia_tri", b"gia tri"))
    lines = check_file(path).lines()
    assert "line 3: column 'gia_tri' (value) not found; closest: 'gia tri'" in lines[1]
    assert "line 3: unknown column 'gia tri'; closest: 'gia_tri'" in lines[2]
    assert not any("0 fields" in line for line in lines)


def test_tsv_is_read_as_tab_separated(tmp_path):
    path = tmp_path / "figures.tsv"
    rows = list(csv.reader([RECORDS_HEADER, LINES[0], LINES[2]]))
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
    report = check_file(path)
    assert report.ok, report.lines()
    assert report.values == 2


def test_csv_that_fits_no_layout_is_one_line(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("nam,san_luong,ghi_chu_khac\n2022,5,x\n", encoding="utf-8")
    report = check_file(path)
    assert len(report.problems) == 1 and report.rejects.empty
    line = report.problems[0]
    assert line.startswith("matches no layout") and "nam, san_luong, ghi_chu_khac" in line
    assert "closest: records_csv" in line and "ma_chi_tieu" in line


def test_workbook_that_fits_no_layout_is_one_line(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Dữ liệu"
    wb.active["A1"] = "SYNTHETIC"
    wb.create_sheet("03_ChanNuoi 2022")
    wb.save(tmp_path / "other.xlsx")
    report = check_file(tmp_path / "other.xlsx")
    assert len(report.problems) == 1
    line = report.problems[0]
    assert (
        line.startswith("matches no layout") and "Dữ liệu, 03_ChanNuoi 2022" in line and "closest: bc24_annex" in line
    )


def failing_reader(real):
    """A records reader that fails, as a fault of kpi would, on one file only."""

    def read(record, spec):
        if record.path.name == "faulty.csv":
            raise csv.Error("new-line character seen in unquoted field - do you need to open the file with newline=''?")
        return real(record, spec)

    return read


def test_a_fault_on_one_file_names_it_and_keeps_the_other_problems(prepared, monkeypatch):
    from kpi import extract

    monkeypatch.setitem(extract.READERS, "records", failing_reader(extract.READERS["records"]))
    put_raw(prepared, "faulty.csv", records("\n"), "records_csv", "faulty")
    replace_annex(prepared, b"%PDF-1.7\n")
    code, out, err = run_ingest(prepared)
    assert (code, out) == (70, "")
    lines = err.splitlines()
    assert lines[0] == f"kpi ingest: error: {prepared / 'raw'}: 2 problem(s)"
    assert lines[1].startswith(f"  - {ANNEX}: not an Excel or OpenDocument workbook: it is a PDF document")
    assert lines[2].startswith("  - faulty.csv: unexpected error while reading it: Error: new-line character seen")


def test_check_reports_a_fault_against_its_file_and_checks_the_others(tmp_path, monkeypatch, capsys):
    from kpi import extract

    monkeypatch.setitem(extract.READERS, "records", failing_reader(extract.READERS["records"]))
    (tmp_path / "faulty.csv").write_bytes(records("\n"))
    (tmp_path / "good.csv").write_bytes(records("\n").replace(b",74,03,", b',"74,03",'))
    code = cli.main(["check", str(tmp_path / "faulty.csv"), str(tmp_path / "good.csv")])
    out = capsys.readouterr().out.splitlines()
    assert code == 70
    assert out[0] == "faulty.csv (layout records_csv): 1 problem(s)"
    assert out[1].startswith("  - unexpected error while reading it: Error: new-line character seen")
    assert out[2] == "good.csv (layout records_csv): OK, 3 values can be ingested"
    _lines, code = check_files([tmp_path / "good.csv"])
    assert code == 0


def test_a_title_row_above_the_header_is_named_with_the_header_line(tmp_path, prepared):
    """``Bảng số liệu …,,,`` typed above the table: one line saying where the header is, in check and ingest."""
    body = records("\n", above="Bảng số liệu phổ biến,,,,,,,\n\n").replace(b",74,03,", b',"74,03",')
    path = tmp_path / "title.csv"
    path.write_bytes(body)
    report = check_file(path)
    assert report.layout == "records_csv"
    assert len(report.problems) == 1
    for named in ("line 1", "line 3", "header"):
        assert named in report.problems[0], report.problems
    put_raw(prepared, "title.csv", body, "records_csv", "title")
    code, _, err = run_ingest(prepared)
    assert code == 2 and "title.csv: line 1: the table header is on line 3" in err


def test_check_goes_on_past_a_missing_file_and_a_folder(tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(records("\n").replace(b",74,03,", b',"74,03",'))
    lines, code = check_files([tmp_path / "nonexist.xlsx", tmp_path, good])
    assert code == 1
    assert lines[0].startswith("nonexist.xlsx") and "no such file" in lines[1]
    assert "is a folder" in lines[3]
    assert lines[4].startswith("good.csv (layout records_csv): OK, 3 values")


def test_a_list_counts_its_rows():
    from kpi import config

    report = check_file(config.DATA_DIR / "raw" / "bc24_varieties.csv")
    assert (
        report.ok
        and report.list_rows > 0
        and report.lines()[0].endswith(f"OK, {report.list_rows} list rows can be ingested")
    )
