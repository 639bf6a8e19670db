"""The yearly cycle end to end, on synthetic workbooks made from the real form at test time:
template → fill → check → ingest → build with the new target year → the report shows it;
a workbook in post-2025 units joins the old series."""

from __future__ import annotations

import shutil

import pytest

from kpi import build as kbuild
from kpi import config
from kpi.check import check_file

from .yearly import add_to_raw, filled_form

pytestmark = pytest.mark.slow  # real builds, kernels or subprocesses: left out of `make quick`


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    root = tmp_path_factory.mktemp("cycle")
    shutil.copytree(config.DATA_DIR / "raw", root / "data" / "raw")
    # the earlier period's overview only: the index must keep it beside the new year's reports
    first = kbuild.build(data_dir=root / "data", reports_dir=root / "reports", only="01_overview")
    form = filled_form(2023, root / "tam_duong_2023.xlsx")
    report = check_file(form)
    add_to_raw(form, root / "data" / "raw")
    second = kbuild.build(data_dir=root / "data", reports_dir=root / "reports", jobs=2, target=2023)
    again = kbuild.build(data_dir=root / "data", reports_dir=root / "reports", jobs=2, target=2023)
    return {"root": root, "first": first, "check": report, "second": second, "again": again}


def page(result: kbuild.BuildResult, theme: str) -> str:
    return next(r for r in result.notebooks if r.theme == theme).html_path.read_text(encoding="utf-8")


def test_the_filled_form_passes_check(cycle):
    assert cycle["check"].ok, cycle["check"].lines()


def test_new_target_year_is_built_and_shown(cycle):
    second = cycle["second"]
    assert second.exit_code == 0 and {r.status for r in second.notebooks} == {"ok"}
    overview = page(second, "overview")
    assert "Năm so sánh 2023" in overview and "Huyện Tam Đường · 2012–2023" in overview
    assert "Sản lượng lương thực có hạt" in overview  # 2012 (derived) and 2023 (the new form)
    assert "So với bản dữ liệu trước" in overview and "mới:" in overview  # what changed since the last edition
    assert "<span>2023</span>" in overview.split("Thay đổi so với bản trước")[-1]


def test_only_what_changed_is_rebuilt(cycle):
    assert {r.status for r in cycle["again"].notebooks} == {"skipped"}
    index = (cycle["root"] / "reports" / "index.html").read_text(encoding="utf-8")
    assert "2012-2022/01-tong-quan_huyen-tam-duong_2012-2022_vi.html" in index
    assert "2012-2023/01-tong-quan_huyen-tam-duong_2012-2023_vi.html" in index


def test_post_2025_workbook_continues_the_series(cycle):
    root = cycle["root"]
    add_to_raw(filled_form(2026, root / "tam_duong_2026.xlsx", seed=26), root / "data" / "raw")
    result = kbuild.build(
        data_dir=root / "data",
        reports_dir=root / "reports",
        baseline=2022,
        target=2026,
        area="03390",
        only="01_overview,05_fish",  # the two reports read below
    )
    assert result.exit_code == 0, [r.message for r in result.failed]
    fish = page(result, "fish")
    assert "Xã Bình Lư" in fish
    overview = page(result, "overview")
    assert "323\u00a0bể" in overview  # Sơn Bình's 2022 tanks, re-aggregated into Xã Bình Lư
    # 03390 is read in the target year's era everywhere: title, edition box, file name and index
    assert (
        next(r for r in result.notebooks if r.theme == "fish").html_path.name
        == "05-ca-nuoc-lanh_xa-binh-lu_2022-2026_vi.html"
    )
    for report in (fish, overview):
        assert "<title>Cá nước lạnh — Xã Bình Lư" in fish and "<dd>Xã Bình Lư (03390)</dd>" in report
        assert "Thị trấn Tam Đường" not in report.split('<div class="kpi-apparatus">')[0].split("</h1>")[0]
    index = (root / "reports" / "index.html").read_text(encoding="utf-8")
    assert "<h2>Xã Bình Lư (03390)</h2>" in index
    # kpi export compares the same area as the reports: Xã Bình Lư 2026 with its units of 2022 re-aggregated
    from openpyxl import load_workbook

    from kpi import cli

    out = root / "binh_lu_2022_2026.xlsx"
    code = cli.main(
        ["export", "--data-dir", str(root / "data"), "--area", "03390", "--baseline", "2022", "--target", "2026"]
        + ["--out", str(out)]
    )
    assert code == 0
    cells = [str(c) for ws in load_workbook(out).worksheets for row in ws.iter_rows(values_only=True) for c in row]
    assert any("Xã Bình Lư" in c for c in cells) and not any("Thị trấn Tam Đường" in c for c in cells)
