"""Exploring in Jupyter: the calls an analyst types, run in a real kernel (nbclient on the project's kernel).

Every call either answers or raises one error naming the value and what exists; one call
shows one output. The README's snippet runs exactly as printed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import papermill
import pytest
from nbclient import NotebookClient

from kpi import config, ingest
from kpi.engine import ProjectKernelManager

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("explore") / "data"
    shutil.copytree(config.DATA_DIR / "raw", root / "raw")
    ingest.run(root)
    return root


@pytest.fixture(scope="module")
def run_cells(data_dir):
    """Run cells in one kernel, as an analyst's notebook would; returns each cell's outputs."""
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_DATA_DIR", str(data_dir))  # the kernel's kpi.config reads the copy
    km = ProjectKernelManager(kernel_name="kpi")

    def run(*sources: str) -> list[list[dict]]:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        NotebookClient(nb, km=km, timeout=120, allow_errors=True).execute()
        return [cell.outputs for cell in nb.cells]

    yield run
    mp.undo()


def error_of(outputs: list[dict]) -> str:
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert len(errors) == 1, outputs
    return f"{errors[0]['ename']}: {errors[0]['evalue']}"


def test_the_api_is_visible_to_tab_completion_and_help(run_cells):
    names, helped = run_cells(
        "import kpi\nprint(sorted(n for n in dir(kpi) if not n.startswith('_')))", "help(kpi.compare)"
    )
    listed = names[0]["text"]
    for name in (
        "load_observations",
        "pick",
        "compare",
        "conflicts",
        "indicators",
        "areas",
        "select",
        "labelled",
        "trend",
        "by_commune",
    ):
        assert f"'{name}'" in listed
    assert "'importlib'" not in listed and "'annotations'" not in listed
    assert "cagr_pct" in helped[0]["text"] and "baseline_status" in helped[0]["text"]


@pytest.mark.parametrize(
    "call, named",
    [
        pytest.param("kpi.compare(best, 2012, 2030)", ["2030", "2012, 2015, 2018, 2019, 2021, 2022"], id="year"),
        pytest.param('kpi.compare(best, 2012, 2022, area="99999")', ["99999", "106"], id="area"),
        pytest.param('kpi.select(obs, area="Son Binh")', ["Son Binh", "03413", "Xã Sơn Bình"], id="area-name"),
        pytest.param('kpi.trend(obs, "tea.no_such")', ["tea.no_such", "tea.area"], id="indicator"),
        pytest.param('kpi.trend(obs, "tea.area")', ["106", "03424", "area="], id="several-areas"),
        pytest.param("kpi.by_commune(obs, 'fish.tanks', 2030)", ["2030", "2022"], id="by-commune-year"),
        pytest.param('kpi.select(obs, "tea.area", area="03413")', ["03413", "tea.area", "106"], id="area-without-it"),
        pytest.param('kpi.trend(best, "tea.output_fresh", area="03413")', ["03413", "106"], id="trend-area-without"),
        pytest.param('kpi.select(best, "tea.area", years="22")', ["'22'", "2022"], id="year-text"),
        pytest.param('kpi.select(best, "tea.area", years=[2013])', ["2013", "2018, 2019, 2021, 2022"], id="year-list"),
        pytest.param('kpi.compare(best, 2012, 2022, area="03413+03427")', ["03413+03427", "2018"], id="group-years"),
    ],
)
def test_an_impossible_question_is_one_error_naming_what_exists(run_cells, call, named):
    _, outputs = run_cells("import kpi\nobs = kpi.load_observations()\nbest = kpi.pick(obs)", call)
    message = error_of(outputs)
    assert message.startswith("KpiError: ")
    for value in named:
        assert value in message, (value, message)


def test_area_codes_as_numbers_work_when_unambiguous(run_cells):
    outputs = run_cells(
        "import kpi\nobs = kpi.load_observations()\nbest = kpi.pick(obs)",
        "print(len(kpi.compare(best, 2012, 2022, area=106)), len(kpi.compare(best, 2012, 2022, area='106')))",
        "print(sorted(set(kpi.select(best, area=3413)['area_name'])))",
    )
    assert outputs[1][0]["text"].split() == ["60", "60"]
    assert "Xã Sơn Bình" in outputs[2][0]["text"]


def test_one_call_shows_one_output(run_cells, data_dir):
    setup = (
        f"import kpi, kpi.report as kr\nobs = kpi.load_observations()\n"
        f"ctx = kr.start(2012, 2022, '106', 'vi', {str(data_dir)!r})"
    )
    outputs = run_cells(
        setup,
        'kpi.trend(obs, "tea.area", area=106)',
        'kpi.by_commune(obs, "fish.tanks", 2022)',
        'ctx.trend("tea.area")',
        'ctx.values(["tea.area"])',
        'ctx.by_commune(["fish.tanks"])',
    )
    assert outputs[0] == []
    for cell in outputs[1:3]:  # a chart as the cell's value: one image, once
        assert [o["output_type"] for o in cell] == ["execute_result"] and "image/png" in cell[0]["data"]
    assert [o["output_type"] for o in outputs[3]] == ["display_data"]  # the report's block, and no value after it
    assert [o["output_type"] for o in outputs[4]] == ["display_data"]  # a table without a trailing ';'
    assert [o["output_type"] for o in outputs[5]] == ["display_data"] * 2  # its table, then its chart


def test_defaults_come_from_one_place(run_cells):
    outputs = run_cells(
        "import kpi\nobs = kpi.load_observations()",
        "print(kpi.conflicts(obs)[['indicator', 'chosen_source']].values.tolist()[:1])",
        "print(kpi.trend(obs, 'tea.area', area=106)._suptitle.get_text())",
        "from kpi import config; print(config.DEFAULT_LANG)",
    )
    assert "['fish.output', 'bc24_annex']" in outputs[1][0]["text"]
    assert outputs[2][0]["text"].strip() == "Tổng diện tích chè" and outputs[3][0]["text"].strip() == "vi"


def test_catalogue_areas_and_labelled_tables(run_cells):
    outputs = run_cells(
        "import kpi\nobs = kpi.load_observations()\nbest = kpi.pick(obs)",
        "print(kpi.indicators('tea').set_index('id').loc['tea.area', ['name_vi', 'name_en', 'unit']].tolist())",
        "print(kpi.areas(2026)['name_vi'].tolist())",
        "t = kpi.labelled(kpi.compare(best, 2012, 2022, area=106), 'en')\n"
        "print(t.columns.tolist()[:4], t.iloc[0].tolist()[:2])",
    )
    assert outputs[1][0]["text"].strip() == "['Tổng diện tích chè', 'Total tea area', 'ha']"
    areas = outputs[2][0]["text"]
    assert "Xã Bình Lư" in areas and "Huyện Tam Đường" not in areas  # the district was abolished in 2025
    assert (
        "['Indicator', 'Area', 'Baseline 2012', 'Target 2022'] ['Food grain output', 'Tam Đường district']"
        in outputs[3][0]["text"]
    )


def test_papermill_passes_a_code_as_a_number(data_dir, tmp_path):
    """``papermill … -p area_code 03413`` gives the notebook the number 3413: it is read as 03413."""
    out = tmp_path / "livestock.ipynb"
    papermill.execute_notebook(
        str(config.NOTEBOOKS_DIR / "04_livestock.ipynb"),
        str(out),
        kernel_name="kpi",
        kernel_manager_class=ProjectKernelManager,
        progress_bar=False,
        parameters={"area_code": 3413, "data_dir": str(data_dir)},
    )
    text = out.read_text(encoding="utf-8")
    assert "Xã Sơn Bình" in text and "ParameterError" not in text
    with pytest.raises(papermill.PapermillExecutionError, match=r"area_code=99999.*-r area_code 99999"):
        papermill.execute_notebook(
            str(config.NOTEBOOKS_DIR / "04_livestock.ipynb"),
            str(tmp_path / "x.ipynb"),
            kernel_name="kpi",
            kernel_manager_class=ProjectKernelManager,
            progress_bar=False,
            parameters={"area_code": 99999, "data_dir": str(data_dir)},
        )


def test_kpi_build_suggests_the_padded_code(data_dir, tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kpi.cli",
            "build",
            "--area",
            "3413",
            "--data-dir",
            str(data_dir),
            "--reports-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "'3413'" in proc.stderr and "did you mean '03413' (Xã Sơn Bình)" in proc.stderr


def test_the_explore_notebook_runs_on_the_shipped_data(data_dir, tmp_path):
    out = tmp_path / "explore.ipynb"
    papermill.execute_notebook(
        str(config.NOTEBOOKS_DIR / "00_explore.ipynb"),
        str(out),
        kernel_name="kpi",
        kernel_manager_class=ProjectKernelManager,
        progress_bar=False,
        parameters={"data_dir": str(data_dir)},
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # the trend and the by-commune chart
    assert any("Fresh tea bud output" in str(o.get("data", {})) for o in outputs)  # English labels


def test_the_explore_notebook_is_not_a_report_unless_asked():
    from kpi import build

    default = [p.name for p in build.find_notebooks(config.NOTEBOOKS_DIR)]
    assert "00_explore.ipynb" not in default and len(default) == 6
    assert [p.name for p in build.find_notebooks(config.NOTEBOOKS_DIR, "00_explore")] == ["00_explore.ipynb"]


def test_the_readme_snippet_runs_as_printed(run_cells):
    text = README.read_text(encoding="utf-8")
    section = text.split("## Exploring in Jupyter")[1].split("\n## ")[0]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    lines = [line for line in snippet.splitlines() if line.strip()]
    outputs = run_cells(*lines)  # one cell per line, as typed
    for line, out in zip(lines, outputs):
        assert not [o for o in out if o["output_type"] == "error"], (line, out)
    assert any("image/png" in o.get("data", {}) for o in outputs[-1])


def test_years_and_modules_as_an_analyst_types_them(run_cells):
    outputs = run_cells(
        "import kpi\nobs = kpi.load_observations()\nbest = kpi.pick(obs)",
        "print(len(kpi.compare(best, '2012', '2022', area=106)),"
        " len(kpi.select(best, 'tea.area', area=106, years=2022.0)))",
        "print(kpi.charts.__name__, kpi.reorg.series_in_new_units.__name__, kpi.labels.__name__)",
        "fig = kpi.trend(obs, 'tea.area', area=106); fig.show()",
        "print(list(kpi.labelled(kpi.conflicts(obs), 'en').columns))",
    )
    assert outputs[1][0]["text"].split() == ["60", "1"]
    assert outputs[2][0]["text"].split() == ["kpi.charts", "series_in_new_units", "kpi.labels"]
    assert [o["output_type"] for o in outputs[3]] == ["display_data"]  # fig.show() in Jupyter: the chart, once
    shown = outputs[4][0]["text"]
    for kept in ("chosen_value", "other_value", "message"):  # a conflict keeps its substance when labelled
        assert f"'{kept}'" in shown, shown


def test_a_reused_code_is_never_one_series(run_cells):
    """03390 was Thị trấn Tam Đường up to 2024 and Xã Bình Lư from 2025: rows of both are refused as one."""
    outputs = run_cells(
        "import kpi, pandas as pd\nobs = kpi.load_observations()\n"
        "row = obs[obs.area_code == '03390'].iloc[[0]]\n"
        "new = row.assign(year=2026, area_name='Xã Bình Lư', value=row.value * 2)\n"
        "both = pd.concat([row, new])",
        "kpi.trend(both, row.indicator.iloc[0], area='03390')",
        "kpi.select(both, area='03390')",
        "print(len(kpi.select(both, area='03390', years=[2026])))",
    )
    for cell in outputs[1:3]:
        message = error_of(cell)
        for value in ("03390", "Thị trấn Tam Đường", "Xã Bình Lư", "series_in_new_units"):
            assert value in message, (value, message)
    assert outputs[3][0]["text"].strip() == "1"
