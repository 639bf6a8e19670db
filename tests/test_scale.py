"""Scale: reports for many areas in warm kernels, the ingest skipped when nothing changed, and Dask.

Real runs throughout: real kernels, a real ``dask.distributed.LocalCluster`` of two worker
processes.  The notebook is a small synthetic fixture written by ``area_notebook``.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kpi import build as kbuild
from kpi import config, engine, ingest
from kpi.errors import ParameterError
from kpi.executors import executor

from .yearly import add_to_raw, filled_form

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

AREAS = ["106", "03413"]  # the district and Sơn Bình


def quiet_build(**options) -> tuple[kbuild.BuildResult, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = kbuild.build(**options)
    return result, out.getvalue()


def report_text(path: Path) -> str:
    """A report without its build time, the one part two builds of the same inputs may differ in."""
    text = path.read_text(encoding="utf-8")
    return re.sub(r"(<dt>(?:Thời điểm tạo|Built at)</dt><dd>)[^<]*", r"\1", text)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scale")
    shutil.copytree(config.DATA_DIR / "raw", root / "data" / "raw")
    (root / "notebooks").mkdir()
    nbformat.write(area_notebook(), root / "notebooks" / "ok.ipynb")
    return root


def area_notebook() -> nbformat.NotebookNode:
    """A synthetic fixture: its parameters, the area's count of observations, a chart, and a check
    that nothing is left over from the notebook the same kernel ran before."""
    v4 = nbformat.v4
    parameters = v4.new_code_cell(
        'baseline_year = 2012\ntarget_year = 2022\narea_code = "106"\nlang = "vi"\ndata_dir = "data"'
    )
    parameters.metadata["tags"] = ["parameters"]
    return v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Báo cáo theo địa bàn · Report per area (synthetic fixture)"),
            parameters,
            v4.new_code_cell(
                'assert "leftover" not in globals(), "the previous notebook\'s namespace leaked"\nleftover = area_code'
            ),
            v4.new_code_cell(
                "from pathlib import Path\nimport pandas as pd\n"
                'obs = pd.read_csv(Path(data_dir) / "processed" / "observations.csv", dtype={"area_code": str})\n'
                'print(f"area_code = {area_code}: {(obs.area_code == area_code).sum()} observations")'
            ),
            v4.new_code_cell(
                "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\n"
                'ax.bar(["a", "b"], [2, 1])  # synthetic numbers\nplt.show()'
            ),
        ]
    )


@pytest.fixture(scope="module")
def local(workspace: Path) -> tuple[kbuild.BuildResult, str]:
    return quiet_build(
        data_dir=workspace / "data",
        notebooks_dir=workspace / "notebooks",
        reports_dir=workspace / "reports",
        areas=",".join(AREAS),
    )


def page_name(code: str) -> str:
    """The fixture notebook's report: its name says area, period and language."""
    return f"ok_{'huyen-tam-duong' if code == '106' else 'xa-son-binh'}_2012-2022_vi.html"


def test_areas_build_one_set_of_reports_per_area_and_one_index(local, workspace):
    result, out = local
    assert result.exit_code == 0, out
    assert sorted(result.areas) == sorted(AREAS)
    for code in AREAS:
        page = (workspace / "reports" / "vi" / code / "2012-2022" / page_name(code)).read_text(encoding="utf-8")
        assert f"area_code = {code}" in page  # the notebook printed the parameter it was given
    index = (workspace / "reports" / "index.html").read_text(encoding="utf-8")
    assert index.count("<section>") == 2
    assert f'href="vi/106/2012-2022/{page_name("106")}"' in index
    assert f'href="vi/03413/2012-2022/{page_name("03413")}"' in index
    assert "[2/2] 03413/ok.ipynb: finished" in out or "[2/2] 106/ok.ipynb: finished" in out


def test_a_warm_kernel_starts_each_notebook_with_a_clean_namespace(local, workspace):
    executed = (workspace / "reports" / "vi" / "03413" / "2012-2022" / "_executed" / "ok.ipynb").read_text()
    assert "Error" not in executed and "Traceback" not in executed
    assert not engine._all_warm  # every warm kernel was shut down at the end of the build


def test_nothing_changed_skips_ingest_and_reports_a_changed_raw_file_does_not(workspace, tmp_path):
    options = {
        "data_dir": tmp_path / "data",
        "notebooks_dir": workspace / "notebooks",
        "reports_dir": tmp_path / "reports",
    }
    shutil.copytree(workspace / "data" / "raw", tmp_path / "data" / "raw")
    _first, out = quiet_build(**options)
    assert out.startswith("ingest: ") and not out.startswith("ingest: skipped")
    again, out = quiet_build(**options)
    assert out.startswith("ingest: skipped")
    assert {r.status for r in again.notebooks} == {"skipped"}
    add_to_raw(filled_form(2023, tmp_path / "form_2023.xlsx"), tmp_path / "data" / "raw")
    changed, out = quiet_build(**options)
    assert out.startswith("ingest: ") and not out.startswith("ingest: skipped")
    assert changed.data_version != again.data_version
    assert {r.status for r in changed.notebooks} == {"ok"}  # new data: the report is rebuilt


def test_the_local_default_never_imports_dask():
    code = (
        "import sys; from kpi import build, cli, executors, ingest; executors.executor('local'); "
        "cli.parser().parse_args(['build', '--areas', 'all']); assert 'dask' not in sys.modules, 'dask imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_area_and_bad_executor_stop_before_any_work(workspace):
    with pytest.raises(ParameterError, match="area_code='99999'"):
        kbuild.build(
            data_dir=workspace / "data",
            notebooks_dir=workspace / "notebooks",
            reports_dir=workspace / "elsewhere",
            areas="106,99999",
        )
    with pytest.raises(ParameterError, match="needs --scheduler"):
        executor("dask")
    assert not (workspace / "elsewhere").exists()


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


def test_ingest_on_dask_writes_the_same_observations(cluster, tmp_path):
    local_dir, dask_dir = tmp_path / "local", tmp_path / "dask"
    for folder in (local_dir, dask_dir):
        shutil.copytree(config.DATA_DIR / "raw", folder / "raw")
    ingest.run(local_dir)
    pool = executor("dask", cluster.scheduler_address)
    try:
        ingest.run(dask_dir, mapper=pool.map)
    finally:
        pool.close()
    for name in ("observations.csv", "rejects.csv", "findings.csv", "conflicts.csv"):
        assert (dask_dir / "processed" / name).read_bytes() == (local_dir / "processed" / name).read_bytes(), name


def test_build_on_dask_renders_the_same_reports(cluster, local, workspace):
    reports = workspace / "reports_dask"
    result, out = quiet_build(
        data_dir=workspace / "data",
        notebooks_dir=workspace / "notebooks",
        reports_dir=reports,
        areas=",".join(AREAS),
        executor="dask",
        scheduler=cluster.scheduler_address,
    )
    assert result.exit_code == 0, out
    for code in AREAS:
        rel = Path("vi") / code / "2012-2022" / page_name(code)
        expected = workspace / "reports" / rel
        assert result.data_version == local[0].data_version
        assert report_text(reports / rel) == report_text(expected)
