"""``kpi build`` end to end: real papermill runs of the fixture notebooks, real nbconvert HTML, a real browser.

Fixtures (``tests/data/notebooks/``, synthetic): ``ok`` prints its parameters and a figure of the
processed data and draws a chart; ``fails`` raises ValueError("boom") in its 3rd cell;
``foreign_kernel`` names a kernelspec that exists nowhere; ``broken/`` holds one that hangs and one
whose kernel dies. Builds are shared by module-scoped fixtures; each later build runs on a copy of
the first build's reports folder, so every test sees the folder its own scenario made.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager

from kpi import build as kbuild
from kpi import buildstate, config, engine
from kpi.errors import ParameterError
from kpi.write import Busy, run_lock

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`

FIXTURES = Path(__file__).parent / "data" / "notebooks"
RUN = Path("vi") / "106" / "2012-2022"  # the report folder of the default parameters


def page_name(stem: str, lang: str = "vi") -> str:
    """A report's file name says notebook, area, period and language."""
    area = "huyen-tam-duong" if lang == "vi" else "tam-duong-district"
    return f"{stem}_{area}_2012-2022_{lang}.html"


REMOTE_URL = re.compile(r"""\s(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@dataclass
class Built:
    result: kbuild.BuildResult
    out: str
    reports: Path
    notebooks: Path
    mtimes_before: dict[str, int]

    def html(self, stem: str, run: Path = RUN) -> str:
        return (self.reports / run / page_name(stem, run.parts[0])).read_text(encoding="utf-8")

    def status(self) -> dict[str, str]:
        return {r.name: r.status for r in self.result.notebooks}


def mtimes(reports: Path) -> dict[str, int]:
    return {
        p.relative_to(reports).as_posix(): p.stat().st_mtime_ns
        for p in reports.rglob("*")
        if p.suffix in (".html", ".ipynb")
    }


def copy_notebooks(target: Path, names: list[str]) -> Path:
    target.mkdir(parents=True)
    for name in names:
        shutil.copy2(FIXTURES / name, target / Path(name).name)
    return target


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with a copy of the shipped raw data, and copies of the fixture notebooks."""
    root = tmp_path_factory.mktemp("build")
    shutil.copytree(config.DATA_DIR / "raw", root / "data" / "raw")
    copy_notebooks(root / "notebooks", ["ok.ipynb", "fails.ipynb", "foreign_kernel.ipynb"])
    return root


def run_build(workspace: Path, reports: Path, notebooks: Path, **options) -> Built:
    before = mtimes(reports) if reports.exists() else {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = kbuild.build(data_dir=workspace / "data", notebooks_dir=notebooks, reports_dir=reports, **options)
    return Built(result, out.getvalue(), reports, notebooks, before)


def build_on_copy(workspace: Path, first: Built, name: str, notebooks: Path, **options) -> Built:
    reports = workspace / name
    shutil.copytree(first.reports, reports)  # copy2 keeps mtimes: "unchanged" is visible
    return run_build(workspace, reports, notebooks, **options)


@pytest.fixture(scope="module")
def built(workspace: Path) -> Built:
    return run_build(workspace, workspace / "reports", workspace / "notebooks")


# --------------------------------------------------------------------------- the first build


def test_a_failing_notebook_fails_the_build_but_not_the_others(built):
    assert built.result.exit_code == 1
    assert built.status() == {"fails.ipynb": "failed", "foreign_kernel.ipynb": "ok", "ok.ipynb": "ok"}
    failed = built.result.failed[0]
    assert (failed.error_cell, failed.error_message) == (3, "ValueError: boom")
    assert failed.message == "fails.ipynb failed at cell 3: ValueError: boom"
    for stem in ("ok", "foreign_kernel", "fails"):
        assert (built.reports / RUN / page_name(stem)).is_file()
        assert (built.reports / RUN / "_executed" / f"{stem}.ipynb").is_file()


def test_progress_names_each_notebook_and_its_outcome(built):
    lines = built.out.splitlines()
    assert lines[0].startswith("ingest: ") and built.result.data_version in lines[0]
    assert "ok.ipynb: started" in lines
    assert any(re.fullmatch(r"\[\d/3\] ok\.ipynb: finished in \d+\.\d s", line) for line in lines)
    assert any(
        re.fullmatch(r"\[\d/3\] fails\.ipynb: failed at cell 3 after \d+\.\d s: ValueError: boom", line)
        for line in lines
    )


def test_report_hides_code_and_the_injected_parameters(built):
    page = built.html("ok")
    for source in ("plt.subplots", "pd.read_csv", "import matplotlib", 'area_code = "106"', "# Parameters"):
        assert source not in page
    assert "injected-parameters" not in page
    assert 'class="input"' not in page and "input_area" not in page and "jp-InputArea" not in page
    assert "tea area 2022: 1947 ha" in page  # an output holding a figure of the processed data
    assert "parameters: 2012 -&gt; 2022, area 106, lang vi" in page


def test_report_is_self_contained(built):
    page = built.html("ok")
    assert re.search(r'<img[^>]*\ssrc="data:image/png;base64,[A-Za-z0-9+/]{100}', page)
    assert not REMOTE_URL.search(page)
    assert "<script" not in page
    assert 'data-remote-src="https://example.invalid/logo.png"' in page  # the fixture's remote image, defused


def test_report_header_names_parameters_data_version_and_time(built):
    page = built.html("ok")
    assert page.startswith('<!DOCTYPE html>\n<html lang="vi">')
    # the title says what, where, when and in which language; the edition box is in the page's language only
    assert "<title>Báo cáo thử nghiệm · Test report — Huyện Tam Đường, 2012–2022 · Tiếng Việt</title>" in page
    header = page.split('<dl class="kpi-params">')[1].split("</dl>")[0]
    assert "<dt>Giai đoạn</dt><dd>2012–2022</dd>" in header
    assert "<dd>Huyện Tam Đường (106)</dd>" in header
    assert "<dt>Ngôn ngữ</dt><dd>Tiếng Việt</dd>" in header
    assert f"<dt>Phiên bản dữ liệu</dt><dd>{built.result.data_version}</dd>" in header
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"
    assert re.search(rf"<dt>Thời điểm tạo</dt><dd>{when}</dd>", header)
    assert "Baseline" not in header and "Data version" not in header
    nav = page.split('<nav class="kpi-nav"')[1].split("</nav>")[0]
    assert 'href="../../../index.html"' in nav


def test_failed_report_shows_what_ran_and_where_it_stopped(built):
    page = built.html("fails")
    assert "Fails on purpose" in page
    assert "(ô 3): <code>ValueError: boom</code>" in page
    assert "never reached" not in page and "papermill-error-cell" not in page


def test_kernel_is_the_project_interpreter_whatever_the_notebook_names(built):
    assert "no-such-kernel" not in KernelSpecManager().find_kernel_specs()
    with pytest.raises(NoSuchKernel):
        _ = KernelManager(kernel_name="no-such-kernel").kernel_spec  # what a kernelspec lookup would do
    assert built.status()["foreign_kernel.ipynb"] == "ok"
    page = built.html("foreign_kernel")
    assert f"kernel python: {sys.executable}" in page
    assert "<h1>foreign_kernel — Huyện Tam Đường, 2012–2022</h1>" in page  # no heading: the file stem


def test_project_kernel_manager_never_looks_a_kernel_up():
    spec = engine.ProjectKernelManager(kernel_name="no-such-kernel").kernel_spec
    assert spec.argv == [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec.language == "python"


def test_index_links_every_report_with_its_status(built):
    index = (built.reports / "index.html").read_text(encoding="utf-8")
    assert built.result.index_path == built.reports / "index.html"
    assert index.startswith('<!DOCTYPE html>\n<html lang="vi">')
    hrefs = re.findall(r'href="([^"]+)"', index)
    for stem in ("ok", "fails", "foreign_kernel"):
        assert f"{RUN.as_posix()}/{page_name(stem)}" in hrefs
    assert all((built.reports / h).is_file() for h in hrefs if not h.startswith("data:"))
    row = re.search(r'<tr><th scope="row">Fails on purpose</th>.*?</tr>', index).group(0)
    assert page_name("fails") in row and ">lỗi</span>" in row and "ô 3: <code>ValueError: boom</code>" in row
    assert len(re.findall(r'<span class="status status-ok">mới tạo \d{4}-\d\d-\d\d \d\d:\d\d</span>', index)) == 2
    assert "<h2>Huyện Tam Đường (106)</h2>" in index and "<h3>Giai đoạn 2012–2022</h3>" in index
    assert built.result.data_version in index
    assert not REMOTE_URL.search(index)


def test_state_file_records_inputs_and_outcomes(built):
    state = json.loads((built.reports / buildstate.STATE_FILE).read_text(encoding="utf-8"))
    entries = state["runs"][RUN.as_posix()]["notebooks"]
    assert entries["fails.ipynb"]["status"] == "failed" and entries["fails.ipynb"]["error_cell"] == 3
    assert entries["ok.ipynb"]["html"] == f"{RUN.as_posix()}/{page_name('ok')}"
    assert all(len(e["inputs"]) == 16 for e in entries.values())


# --------------------------------------------------------------------------- incremental builds


@pytest.fixture(scope="module")
def unchanged(workspace, built) -> Built:
    """The same notebooks (without the failing one), data and parameters: nothing to do."""
    notebooks = copy_notebooks(workspace / "notebooks-good", ["ok.ipynb", "foreign_kernel.ipynb"])
    return build_on_copy(workspace, built, "reports-unchanged", notebooks)


def test_nothing_changed_executes_nothing(unchanged):
    assert unchanged.status() == {"foreign_kernel.ipynb": "skipped", "ok.ipynb": "skipped"}
    assert unchanged.result.exit_code == 0
    assert "started" not in unchanged.out
    assert "[1/2] foreign_kernel.ipynb: skipped (unchanged)" in unchanged.out
    after = mtimes(unchanged.reports)
    for stem in ("ok", "foreign_kernel"):
        rel = f"{RUN.as_posix()}/_executed/{stem}.ipynb"
        assert after[rel] == unchanged.mtimes_before[rel], rel
        # the page is only re-linked: the report it linked to ("fails") is no longer in the set
        page = unchanged.html(stem)
        assert page_name("fails") not in page
        assert re.sub(r"<!--kpi-nav-->.*<!--/kpi-nav-->", "", page) == re.sub(
            r"<!--kpi-nav-->.*<!--/kpi-nav-->",
            "",
            (unchanged.reports.parent / "reports" / RUN / page_name(stem)).read_text(encoding="utf-8"),
        )
    index = (unchanged.reports / "index.html").read_text(encoding="utf-8")
    # unchanged reads as a plain fact, not as a warning: the neutral chip, with the time it was built
    assert (
        len(re.findall(r'<span class="status status-skipped">không đổi từ \d{4}-\d\d-\d\d \d\d:\d\d</span>', index))
        == 2
    )
    assert page_name("fails") not in index  # a notebook no longer in the folder leaves the index


@pytest.fixture(scope="module")
def again(workspace, built) -> Built:
    return build_on_copy(workspace, built, "reports-again", workspace / "notebooks")


def test_a_failed_notebook_is_never_up_to_date(again):
    assert again.status() == {"fails.ipynb": "failed", "foreign_kernel.ipynb": "skipped", "ok.ipynb": "skipped"}
    key = f"{RUN.as_posix()}/_executed/fails.ipynb"
    after = mtimes(again.reports)
    assert after[key] != again.mtimes_before[key]
    for stem in ("ok", "foreign_kernel"):  # the same set: the up-to-date pages are not touched at all
        rel = f"{RUN.as_posix()}/{page_name(stem)}"
        assert after[rel] == again.mtimes_before[rel], rel


@pytest.fixture(scope="module")
def forced(workspace, built) -> Built:
    return build_on_copy(workspace, built, "reports-forced", workspace / "notebooks", force=True, jobs=3)


def test_force_rebuilds_everything_in_parallel(forced):
    assert forced.status() == {"fails.ipynb": "failed", "foreign_kernel.ipynb": "ok", "ok.ipynb": "ok"}
    after = mtimes(forced.reports)
    for stem in ("ok", "foreign_kernel", "fails"):
        key = f"{RUN.as_posix()}/_executed/{stem}.ipynb"
        assert after[key] != forced.mtimes_before[key]
    assert forced.out.count(": started") == 3
    assert "(ô 3): <code>ValueError: boom</code>" in forced.html("fails")


@pytest.fixture(scope="module")
def edited(workspace, built) -> Built:
    notebooks = copy_notebooks(workspace / "notebooks-edited", ["ok.ipynb", "foreign_kernel.ipynb"])
    nb = json.loads((notebooks / "ok.ipynb").read_text(encoding="utf-8"))
    nb["cells"].append(
        {"cell_type": "markdown", "id": "added", "metadata": {}, "source": ["Một đoạn mới · A new paragraph"]}
    )
    (notebooks / "ok.ipynb").write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
    return build_on_copy(workspace, built, "reports-edited", notebooks)


def test_an_edited_notebook_alone_is_rebuilt(edited):
    assert edited.status() == {"foreign_kernel.ipynb": "skipped", "ok.ipynb": "ok"}
    assert "Một đoạn mới · A new paragraph" in edited.html("ok")


@pytest.fixture(scope="module")
def english(workspace, built) -> Built:
    notebooks = copy_notebooks(workspace / "notebooks-en", ["ok.ipynb"])
    return build_on_copy(workspace, built, "reports-en", notebooks, lang="en")


def test_other_parameters_go_side_by_side(english):
    run = Path("en") / "106" / "2012-2022"
    assert english.status() == {"ok.ipynb": "ok"}
    page = english.html("ok", run)
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "<dt>Period</dt><dd>2012–2022</dd>" in page and "<dd>Tam Đường district (106)</dd>" in page
    assert "parameters: 2012 -&gt; 2022, area 106, lang en" in page
    index = (english.reports / "index.html").read_text(encoding="utf-8")
    assert f'href="{run.as_posix()}/{page_name("ok", "en")}"' in index
    assert f'href="{RUN.as_posix()}/{page_name("ok")}"' in index
    # one row per report, one column per language, in the language of the last build
    assert '<th scope="col">Vietnamese</th><th scope="col">English</th>' in index
    # each edition now links the other one (the Vietnamese page, built first, was re-linked)
    assert f'href="../../../en/106/2012-2022/{page_name("ok", "en")}" hreflang="en"' in english.html("ok")
    assert f'href="../../../vi/106/2012-2022/{page_name("ok")}" hreflang="vi"' in page


# --------------------------------------------------------------------------- errors


def test_a_second_build_waits_for_the_lock(workspace, built):
    with run_lock(built.reports, "test"), pytest.raises(Busy, match="another kpi run"):
        kbuild.build(data_dir=workspace / "data", notebooks_dir=workspace / "notebooks", reports_dir=built.reports)


@pytest.mark.parametrize(
    "options, message",
    [
        pytest.param({"jobs": 0}, "jobs=0", id="jobs"),
        pytest.param({"timeout": 0}, "timeout=0", id="timeout"),
        pytest.param({"baseline": 2022, "target": 2012}, "must be before", id="years"),
        pytest.param({"area": "999"}, "not a known area code", id="area"),
    ],
)
def test_bad_parameters_stop_before_any_work(workspace, tmp_path, options, message):
    with pytest.raises(ParameterError, match=message):
        kbuild.build(
            data_dir=workspace / "data", notebooks_dir=workspace / "notebooks", reports_dir=tmp_path, **options
        )
    assert not (tmp_path / "index.html").exists()


@pytest.fixture(scope="module")
def cli_run(workspace) -> tuple[subprocess.CompletedProcess, Path]:
    """The command line on the failing, hanging and dying notebooks, three at a time, 3 s per cell."""
    notebooks = copy_notebooks(
        workspace / "notebooks-broken", ["fails.ipynb", "broken/hangs.ipynb", "broken/dies.ipynb"]
    )
    reports = workspace / "reports-cli"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kpi.cli",
            "build",
            "--data-dir",
            str(workspace / "data"),
            "--notebooks-dir",
            str(notebooks),
            "--reports-dir",
            str(reports),
            "--jobs",
            "3",
            "--timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=workspace,
    )
    return proc, reports


def test_cli_names_notebook_and_cell_without_traceback(cli_run):
    proc, reports = cli_run
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[-1] == str(reports.resolve() / "index.html")
    errors = proc.stderr.splitlines()
    assert "kpi build: error: fails.ipynb failed at cell 3: ValueError: boom" in errors
    assert any(line.startswith("kpi build: error: hangs.ipynb failed at cell 3: TimeoutError: ") for line in errors)
    assert any(line.startswith("kpi build: error: dies.ipynb failed at cell 4: DeadKernelError: ") for line in errors)
    assert len(errors) == 3, proc.stderr  # nothing else: no traceback, no kernel or papermill log lines
    assert "Traceback" not in proc.stderr


def test_dead_and_hung_kernels_leave_a_partial_report(cli_run):
    _, reports = cli_run
    dies = (reports / RUN / page_name("dies")).read_text(encoding="utf-8")
    assert "about to die" in dies and "(ô 4): <code>DeadKernelError" in dies
    assert "(ô 3): <code>TimeoutError" in (reports / RUN / page_name("hangs")).read_text(encoding="utf-8")
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert index.count('<span class="status status-failed">lỗi</span>') == 3


def test_cli_reports_bad_parameters_in_one_line(workspace, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kpi.cli",
            "build",
            "--data-dir",
            str(workspace / "data"),
            "--notebooks-dir",
            str(workspace / "notebooks"),
            "--reports-dir",
            str(tmp_path),
            "--area",
            "999",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "kpi build: error: area_code='999': not a known area code (see data/reference/areas.csv)"
    )


# --------------------------------------------------------------------------- in a browser


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,900",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI installs it in .ci/run")
        pytest.skip("chromium is not installed")
    return path


class LoggingHandler(http.server.SimpleHTTPRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        self.server.requests.append((self.command, self.path, int(code)))

    def log_message(self, format, *args) -> None:  # noqa: A002 -- the base class's name
        pass


@pytest.fixture
def serve():
    """Serve a folder on 127.0.0.1; the server records every request (method, path, status)."""
    servers = []

    def start(folder: Path) -> http.server.ThreadingHTTPServer:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(LoggingHandler, directory=folder))
        server.requests = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def page_requests(netlog: Path, origin: str) -> list[str]:
    """URLs the page itself asked for: NetLog marks them with the page's origin as initiator.

    Requests of the browser itself (component updates, clock checks) have no initiator origin.
    """
    text = netlog.read_text(encoding="utf-8").rstrip().rstrip(",")
    log = json.loads(text if text.endswith("}") else text + "]}")  # a log cut short lacks its closing
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start_job and e.get("params", {}).get("initiator") == origin
    ]


def open_in_chromium(chromium: str, url: str, tmp: Path) -> tuple[Path, Path]:
    shot, netlog = tmp / "shot.png", tmp / "netlog.json"
    proc = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp / 'profile'}",
            f"--log-net-log={netlog}",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    return shot, netlog


def assert_not_blank(shot: Path) -> None:
    pixels = matplotlib.image.imread(shot)[..., :3]
    colours = {tuple(p) for p in pixels.reshape(-1, 3)[::7]}
    assert pixels.std() > 0.02 and len(colours) > 50, f"{shot.name}: {len(colours)} colours"


@pytest.mark.parametrize(
    "page",
    [
        pytest.param("index.html", id="index"),
        pytest.param(f"{RUN.as_posix()}/{page_name('ok')}", id="report"),
        pytest.param(f"{RUN.as_posix()}/{page_name('fails')}", id="failed-report"),
    ],
)
def test_reports_render_in_a_browser_without_other_requests(chromium, serve, built, tmp_path, page):
    server = serve(built.reports)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    shot, netlog = open_in_chromium(chromium, f"{origin}/{page}", tmp_path)
    assert_not_blank(shot)
    assert server.requests == [("GET", f"/{page}", 200)]  # the page, nothing else (no icon, no 404)
    assert page_requests(netlog, origin) == []


def test_browser_check_sees_remote_requests(chromium, serve, tmp_path):
    """The check above can fail: a page loading a script and an image from elsewhere is caught."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "bad.html").write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,">'
        '<script src="https://cdn.example.invalid/require.js"></script></head>'
        '<body><img src="http://example.invalid/a.png"><p>x</p></body></html>'
    )
    server = serve(site)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    _, netlog = open_in_chromium(chromium, f"{origin}/bad.html", tmp_path)
    assert sorted(page_requests(netlog, origin)) == [
        "http://example.invalid/a.png",
        "https://cdn.example.invalid/require.js",
    ]


def test_a_warm_kernel_that_dies_before_it_answers_is_replaced_once(workspace, monkeypatch):
    """A kernel that dies before it answers has run nothing of the notebook: a new one takes its
    place, and the notebooks go on as they would."""
    notebooks = copy_notebooks(workspace / "notebooks-died", ["ok.ipynb", "fails.ipynb"])
    resets, reset = [], engine.WarmKernel.reset

    def dies_first(kernel, cwd, timeout):
        resets.append(kernel)
        if len(resets) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return reset(kernel, cwd, timeout)

    monkeypatch.setattr(engine.WarmKernel, "reset", dies_first)
    built = run_build(workspace, workspace / "reports-died", notebooks, jobs=1)
    assert built.status() == {"fails.ipynb": "failed", "ok.ipynb": "ok"}
    assert built.result.failed[0].error_cell == 3  # its own error, not the kernel's start
    assert len(resets) == 3 and resets[1] is not resets[0] and resets[2] is resets[1]  # one kernel replaced, once
