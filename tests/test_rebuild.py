"""Only the reports whose inputs changed are rebuilt: a revised livestock figure rebuilds the
livestock report and the overview (which reads everything), not tea or fish.

Each theme's sheet of a synthetic 2023 form (SYNTHETIC, fixed seed) is revised in turn; the
reports whose inputs change are computed the way ``kpi build`` plans them. One revision is
then built for real.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kpi import build as kbuild
from kpi import config, ingest, labels

from .yearly import add_to_raw, filled_form

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

THEMES = {
    "1_TrongTrot": "02_crops",
    "2_Che": "03_tea",
    "3_ChanNuoi": "04_livestock",
    "4_CaNuocLanh": "05_fish",
    "5_SangKien": "06_initiatives",
}


def inputs_of(data_dir: Path) -> dict[str, str]:
    """Each report notebook's inputs hash for 2012 → 2023, as ``kpi build`` computes it."""
    version = ingest.run(data_dir).data_version
    run = kbuild.check_run(2012, 2023, "106", "vi", data_dir, data_dir.parent / "reports", 1, 60)
    header = {"106": {"area_name": labels.area_name("106", 2023, "vi")}}
    common = {"data_version": version, "library": "same", "header": header}
    tasks, _ = kbuild.plan(kbuild.find_notebooks(config.NOTEBOOKS_DIR), run, {}, common, True, 60)
    return {t.notebook.stem: t.inputs for t in tasks}


def revise(form: Path, raw: Path, sheet: str) -> None:
    """Change one unit's figure on one sheet of the form in data/raw (and its checksum, as an office would)."""
    wb = load_workbook(raw / form.name)
    ws = wb[sheet]
    cell = ws.cell(row=8, column=4)
    cell.value = (cell.value or 0) + 1
    wb.save(raw / form.name)
    add_to_raw(raw / form.name, raw, source_id=form.stem)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("rebuild")
    shutil.copytree(config.DATA_DIR / "raw", root / "data" / "raw")
    form = filled_form(2023, root / "tam_duong_2023.xlsx")
    add_to_raw(form, root / "data" / "raw")
    return root, form


def test_each_theme_revised_rebuilds_its_report_and_the_overview(workspace):
    root, form = workspace
    data = root / "data"
    before = inputs_of(data)
    assert set(before) == {"01_overview", *THEMES.values()}
    for sheet, notebook in THEMES.items():
        revise(form, data / "raw", sheet)
        after = inputs_of(data)
        changed = {name for name in after if after[name] != before[name]}
        assert changed == {"01_overview", notebook}, (sheet, changed)
        before = after


def test_a_revision_rebuilds_only_what_it_touches_for_real(workspace, tmp_path):
    root, form = workspace
    data, reports = root / "data", tmp_path / "reports"
    kbuild.build(data_dir=data, reports_dir=reports, target=2023, jobs=2)
    revise(form, data / "raw", "3_ChanNuoi")
    result = kbuild.build(data_dir=data, reports_dir=reports, target=2023, jobs=2)
    status = {r.name.removesuffix(".ipynb"): r.status for r in result.notebooks}
    assert status == {
        "01_overview": "ok",
        "04_livestock": "ok",
        "02_crops": "skipped",
        "03_tea": "skipped",
        "05_fish": "skipped",
        "06_initiatives": "skipped",
    }


def test_a_notebook_that_reads_outside_the_report_context_depends_on_everything():
    from kpi import reads

    assert reads.reads_of_source("import pandas as pd\npd.read_csv('x.csv')").indicators is None
    assert reads.reads_of_source('ctx.values(["tea.area"])\nctx.story()').indicators is None
    assert reads.reads_of_source('ctx.values(["tea.area"])').indicators == {"tea.area"}


def test_the_kernels_start_first_when_every_report_will_run(data_dir, tmp_path):
    """``kpi build`` starts its kernels before anything else when the data must be ingested or no
    report was built in the reports folder yet; not on a rebuild of data already built."""
    from kpi import buildstate

    reports = tmp_path / "reports"
    reports.mkdir()
    assert buildstate.nothing_built(reports, data_dir)  # neither ingested nor built
    ingest.run(data_dir)
    assert buildstate.nothing_built(reports, data_dir)  # ingested, no report built yet
    (reports / buildstate.STATE_FILE).write_text("{}", encoding="utf-8")
    assert not buildstate.nothing_built(reports, data_dir)  # built before, data current
    raw = next((data_dir / "raw").glob("*.csv"))
    raw.write_bytes(raw.read_bytes() + b"\n")
    assert buildstate.nothing_built(reports, data_dir)  # the data changed: it must be ingested again
