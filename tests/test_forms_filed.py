"""How forms are filed: the same form twice under two names, last year's form under this year's
name, and many disagreements between two forms (the console lists the first 20 and a count)."""

from __future__ import annotations

import shutil

import pytest
import yaml

from kpi import cli, ingest, reference
from kpi.errors import SourceError

from .yearly import add_to_raw, filled_form


def test_same_form_under_two_names_is_refused_naming_both(tmp_path, data_dir):
    form = filled_form(2023, tmp_path / "tam_duong_2023.xlsx")
    add_to_raw(form, data_dir / "raw")
    copy = tmp_path / "tam_duong_2023_ban_sao.xlsx"
    shutil.copyfile(form, copy)
    add_to_raw(copy, data_dir / "raw")
    with pytest.raises(SourceError) as err:
        ingest.run(data_dir)
    assert len(err.value.problems) == 1
    line = err.value.problems[0]
    assert line.startswith("tam_duong_2023_ban_sao.xlsx: the same file as tam_duong_2023.xlsx")
    assert reference.sha256(form)[:12] in line


def test_check_names_two_files_that_are_one(tmp_path, capsys):
    form = filled_form(2023, tmp_path / "tam_duong_2023.xlsx")
    copy = tmp_path / "copy_2023.xlsx"
    shutil.copyfile(form, copy)
    assert cli.main(["check", str(form), str(copy)]) == 1
    out = capsys.readouterr().out
    assert "copy_2023.xlsx: the same file as tam_duong_2023.xlsx" in out


def misfiled(tmp_path):
    """The 2023 form (its year cells say 2023) saved as the 2024 file."""
    form = filled_form(2023, tmp_path / "form.xlsx")
    target = tmp_path / "tam_duong_2024.xlsx"
    form.rename(target)
    return target


def test_check_says_the_form_year_differs_from_its_name(tmp_path):
    from kpi.check import check_file

    report = check_file(misfiled(tmp_path))
    assert not report.ok and len(report.problems) == 1
    line = report.problems[0]
    assert "the form's year is 2023" in line and "its file name says 2024" in line


def test_ingest_refuses_a_form_filed_under_another_year(tmp_path, data_dir):
    path = add_to_raw(misfiled(tmp_path), data_dir / "raw")
    meta = yaml.safe_load(reference.meta_path_of(path).read_text(encoding="utf-8"))
    assert meta["source_id"] == "tam_duong_2024"
    with pytest.raises(SourceError) as err:
        ingest.run(data_dir)
    lines = [p for p in err.value.problems if "2024" in p]
    assert [line.split(": ", 1)[0] for line in lines] == ["tam_duong_2024.xlsx", "tam_duong_2024.xlsx"]
    assert "file name says 2024" in lines[0] and "provenance record says 2024" in lines[1]
    assert all("the form's year is 2023" in line for line in lines)


def test_console_lists_20_conflicts_and_counts_the_rest(tmp_path, data_dir, capsys):
    add_to_raw(filled_form(2023, tmp_path / "tam_duong_2023.xlsx"), data_dir / "raw")
    (tmp_path / "b").mkdir()
    add_to_raw(filled_form(2023, tmp_path / "b" / "tam_duong_2023_xa.xlsx", seed=99), data_dir / "raw")
    code = cli.main(["ingest", "--data-dir", str(data_dir)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    head = next(i for i, line in enumerate(out) if line.startswith("conflicts between sources: "))
    total = int(out[head].rsplit(" ", 1)[1])
    assert total > 20
    listed = out[head + 1 : head + 22]
    assert all(line.startswith("  ") for line in listed[:20])
    assert listed[20] == f"  … and {total - 20:,} more (all in conflicts.csv)"
    written = (data_dir / "processed" / "conflicts.csv").read_text(encoding="utf-8").count("\n") - 1
    assert written == total
