"""The real notebooks: committed clean, thin, and rendered to HTML holding the report's figures."""

from __future__ import annotations

import ast
import re

import nbformat
import papermill
import pytest

from kpi import build as kbuild
from kpi import config, engine
from kpi.errors import ParameterError

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("*.ipynb"))
# what would load something from another host (a link the reader clicks loads nothing by itself)
REMOTE = re.compile(
    r"""\s(?:src|srcset|poster)\s*=\s*["']?(?:https?:)?//|<link\b[^>]*href\s*=\s*["']?(?:https?:)?//""", re.I
)
PARAMETERS = {"baseline_year", "target_year", "area_code", "lang", "data_dir"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_and_thin(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    first = code[0]
    assert nb.cells[0] is first and "parameters" in first.metadata.get("tags", [])
    tree = ast.parse(first.source)
    assert {t.id for node in tree.body for t in node.targets} == PARAMETERS
    assert all(isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) for node in tree.body)
    for cell in code[1:]:
        nodes = list(ast.walk(ast.parse(cell.source)))
        assert not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)) for n in nodes)


@pytest.fixture(scope="module")
def workspace(report_sets):
    return report_sets["_root"]


@pytest.fixture(scope="module")
def vi(report_sets):
    return {k: v for k, v in report_sets["vi"].items() if not k.startswith("_")}


@pytest.fixture(scope="module")
def en(report_sets):
    return {k: v for k, v in report_sets["en-2018"].items() if not k.startswith("_")}


@pytest.mark.parametrize(
    "report, figures",
    [
        pytest.param(
            "overview",
            [
                "37.015\u00a0t",
                "41.100\u00a0t",
                "+4.085\u00a0t",
                "3.407\u00a0t",
                "10.200\u00a0t",
                "số in 93,7\u00a0%, tính từ các thành phần được 93,773\u00a0%",
            ],
            id="overview",
        ),
        pytest.param("crops", ["41.100\u00a0t", "Thục Hưng 6", "J01"], id="crops"),
        pytest.param(
            "tea", ["1.947\u00a0ha", "74,03\u00a0ha", "30,7\u00a0ha", "ước 10.200\u00a0t", "5,14\u00a0t/ha"], id="tea"
        ),
        pytest.param("livestock", ["Xã Sơn Bình", "Xã Bản Hon", "9\u00a0cơ sở", "03_ChanNuoi!C8"], id="livestock"),
        pytest.param(
            "fish",
            ["388\u00a0bể", "323\u00a0bể", "18.000\u00a0m³", "8,11\u00a0kg/m³", "trên 300\u00a0t", "146\u00a0t"],
            id="fish",
        ),
        pytest.param(
            "initiatives",
            ["1.543\u00a0sáng kiến", "trên 1.350\u00a0hộ", "Chả chéo Lục Lệ", "NaFood", "97,8\u00a0%"],
            id="initiatives",
        ),
    ],
)
def test_vietnamese_reports_hold_the_figures(vi, report, figures):
    html = vi[report]
    for figure in figures:
        assert figure in html, figure


@pytest.mark.parametrize(
    "report, figures",
    [
        pytest.param(
            "overview",
            ["1,424\u00a0ha", "about 2,000\u00a0ha", "+576\u00a0ha", "5,944\u00a0t", "about 10,200\u00a0t"],
            id="overview",
        ),
        pytest.param("tea", ["1,424\u00a0ha", "about 10,200\u00a0t", "Baseline 2018", "Target 2021"], id="tea"),
        pytest.param(
            "fish",
            ["No data for Tam Đường district in 2018–2021 (there are figures for 2022, outside this period)."],
            id="fish",
        ),
        pytest.param("livestock", ["Concentrated livestock farming — Tam Đường district, 2018–2021"], id="livestock"),
    ],
)
def test_english_reports_use_english_numbers(en, report, figures):
    html = en[report]
    for figure in figures:
        assert figure in html, figure
    assert '<html lang="en"' in html


def test_reports_hide_code_and_embed_images(vi, en):
    for html in list(vi.values()) + list(en.values()):
        assert "kr.start(" not in html and "ctx." not in html and "injected-parameters" not in html
        assert "analyst-note" not in html and "Report notebook of theme" not in html  # the analyst's prose stays out
        assert not REMOTE.search(html)
    for name in ("tea", "fish", "livestock", "crops"):
        assert "data:image/svg+xml;base64," in vi[name]


def test_bad_parameter_stops_the_build_with_one_line(workspace, vi):
    from kpi import params
    from kpi.api import load_observations

    obs = load_observations(workspace / "data")
    with pytest.raises(ParameterError, match=r"^baseline_year=2013: no observation for 2013 in the data"):
        params.check(2013, 2022, "106", "vi", workspace / "data", observations=obs)
    with pytest.raises(ParameterError, match=r"^area_code='999': not a known area code"):
        kbuild.build(area="999", data_dir=workspace / "data", reports_dir=workspace / "reports")
    with pytest.raises(ParameterError, match=r"^baseline_year=2013: no observation for 2013 in the data \(years"):
        kbuild.build(baseline=2013, data_dir=workspace / "data", reports_dir=workspace / "reports")


def test_bad_parameter_in_the_notebook_is_one_line(workspace, vi, tmp_path):
    out = tmp_path / "tea.ipynb"
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(config.NOTEBOOKS_DIR / "03_tea.ipynb"),
            str(out),
            kernel_name="kpi",
            kernel_manager_class=engine.ProjectKernelManager,
            parameters={"lang": "fr", "data_dir": str(workspace / "data")},
            progress_bar=False,
        )
    errors = [
        o
        for c in nbformat.read(out, as_version=4).cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert len(errors) == 1
    assert errors[0].traceback == ["ParameterError: lang='fr': expected one of vi, en"]
