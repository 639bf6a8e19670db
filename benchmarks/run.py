"""``make bench``: ingest and build at three sizes, against plain readers and the unzip-and-tokenise floor.

Sizes (SYNTHETIC workbooks, fixed seed, written under ``benchmarks/_work/``, see ``synth.py``):
one district × 11 years, a province of 8 districts × 11 years, a nation of 700 districts × 2 years.
For each size, measured side by side in this run:

- ``kpi ingest`` (every file read, cleaned, validated, written) in a fresh process with the
  synthetic gazetteer (``KPI_REFERENCE_DIR``): seconds, observations per second, peak memory;
- the same workbooks read by ``pandas.read_excel`` with openpyxl, by openpyxl alone (read-only
  mode) and by calamine -- reading only, no cleaning;
- the floor: unzip each workbook, read each sheet's XML and split it into tags and text, no more.

Then the build: the default ``kpi build`` on the shipped data, the no-op rebuild, and the
reports of the province's 8 districts (``--areas``) with ``--jobs 1`` and ``--jobs 2``, with the
cost per report against a fresh papermill run.  Every figure and the machine go to
``benchmarks/results.md``; each target is printed as met or not met with its numbers.

``BENCH_SCALE=small`` runs tiny sizes (a smoke test of this script, not figures to quote).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402

from kpi import config  # noqa: E402

WORK = HERE / "_work"
RESULTS = HERE / "results.md"
YEARS_ALL = list(range(2012, 2023))  # the first edition's span, 2012-2022
YEARS_NATION = [2012, 2022]  # the report's baseline and target years
SMALL = os.environ.get("BENCH_SCALE") == "small"
SIZES = [  # (name, districts, years, repeats of the ingest, share of files read by the slow readers)
    ("district", 1, YEARS_ALL, 3, 1.0),
    ("province", 2 if SMALL else 8, YEARS_ALL, 1, 1.0),
    ("nation", 4 if SMALL else 700, YEARS_NATION, 1, 1.0 if SMALL else 0.1),
]
NATION_INGEST_CAP_S = 540  # the whole of `make bench` must stay under 15 minutes
PROVINCE_AREAS = 8  # reports for N areas: the province's districts

TARGET_VS_PANDAS = 10  # ingest at least 10x faster than pandas.read_excel + openpyxl
TARGET_VS_FLOOR = 10  # ingest within 10x of unzip-and-tokenise
TARGET_PEAK_GIB = 2.0  # peak memory of the nation-size ingest
TARGET_BUILD_S = 10.0  # the default build
TARGET_NOOP_S = 0.5  # a rebuild with nothing changed
TARGET_HTML_KB = 600  # one report, to be e-mailed

TOKENS = re.compile(rb"<[^>]*>|[^<]+")

INGEST_CHILD = """
import json, resource, statistics, sys, time
from kpi import ingest
data, repeats = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(repeats):
    start = time.perf_counter()
    result = ingest.run(data)
    times.append(time.perf_counter() - start)
print(json.dumps({"seconds": statistics.median(times), "observations": len(result.observations),
                  "rejects": len(result.rejects), "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


# --------------------------------------------------------------------------- readers


def floor(files: list[Path]) -> int:
    """Unzip every workbook and tokenise each sheet's XML: the least any reader must do."""
    tokens = 0
    for path in files:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    tokens += sum(1 for _ in TOKENS.finditer(z.read(name)))
    return tokens


def pandas_openpyxl(files: list[Path]) -> None:
    import pandas as pd

    for path in files:
        pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")


def openpyxl_only(files: list[Path]) -> None:
    from openpyxl import load_workbook

    for path in files:
        wb = load_workbook(path, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for _row in ws.iter_rows(values_only=True):
                pass
        wb.close()


def pandas_calamine(files: list[Path]) -> None:
    import pandas as pd

    for path in files:
        pd.read_excel(path, sheet_name=None, header=None, engine="calamine")


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def sample(files: list[Path], share: float) -> list[Path]:
    """Every k-th file (a fixed, spread sample) when the slow readers would take too long on all."""
    if share >= 1:
        return files
    step = round(1 / share)
    return files[::step]


# --------------------------------------------------------------------------- runs in fresh processes


def env_with(reference: Path | None) -> dict:
    env = dict(os.environ)
    env.pop("KPI_REFERENCE_DIR", None)
    if reference is not None:
        env["KPI_REFERENCE_DIR"] = str(reference)
    return env


def ingest_in_child(data: Path, repeats: int, reference: Path, cap: float | None = None) -> dict:
    try:
        proc = subprocess.run(
            [sys.executable, "-c", INGEST_CHILD, str(data), str(repeats)],
            env=env_with(reference),
            capture_output=True,
            text=True,
            timeout=cap,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "capped_at": cap}
    if proc.returncode != 0:
        raise RuntimeError(f"ingest of {data} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def kpi_build(args: list[str], reference: Path | None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "kpi.cli", "build", *args],
        env=env_with(reference),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"kpi build {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout + proc.stderr


def papermill_cli(data: Path, out: Path, reference: Path | None, area: str = "106") -> list[float]:
    """The baseline a team would script by hand: for each notebook, the papermill command line on
    the installed kernel, then `jupyter nbconvert --to html`; seconds per report (both steps)."""
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    seconds = []
    for notebook in sorted(config.NOTEBOOKS_DIR.glob("*.ipynb")):
        executed = out / notebook.name
        start = time.perf_counter()
        subprocess.run(
            [
                str(bin_dir / "papermill"),
                "--no-progress-bar",
                "-k",
                "kpi",
                str(notebook),
                str(executed),
                "-r",
                "data_dir",
                str(data),
                "-r",
                "area_code",
                area,
            ],
            env=env_with(reference),
            capture_output=True,
            check=True,
            cwd=config.NOTEBOOKS_DIR,
        )
        subprocess.run(
            [str(bin_dir / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
            env=env_with(reference),
            capture_output=True,
            check=True,
        )
        seconds.append(time.perf_counter() - start)
    return seconds


def report_seconds(reports: Path) -> list[float]:
    """Execute + render time of each report built (the build's own record of it)."""
    state = json.loads((reports / ".build-state.json").read_text(encoding="utf-8"))
    return [e["seconds"] for run in state["runs"].values() for e in run["notebooks"].values() if e["status"] == "ok"]


def largest_html_kb(*folders: Path) -> float:
    sizes = [p.stat().st_size for f in folders for p in f.rglob("*.html") if p.name != "index.html"]
    return max(sizes) / 1024 if sizes else 0.0


def seed_ingest_stamp(source: Path, target: Path) -> None:
    """A new reports folder that knows the data is already ingested (so only the reports are timed)."""
    state = json.loads((source / ".build-state.json").read_text(encoding="utf-8"))
    target.mkdir(parents=True)
    (target / ".build-state.json").write_text(
        json.dumps({"format": state["format"], "runs": {}, "ingest": state["ingest"]}), encoding="utf-8"
    )


# --------------------------------------------------------------------------- the machine


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    with_cpuinfo = Path("/proc/cpuinfo")
    if with_cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in with_cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo.read_text()).group(1))
        memory = f"{kib / 1024 / 1024:.1f} GiB RAM"
    from importlib.metadata import version

    import openpyxl
    import pandas
    import papermill
    import python_calamine  # noqa: F401 -- its version is that of the package

    return [
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, {memory}",
        f"Python {platform.python_version()}, pandas {pandas.__version__}, openpyxl {openpyxl.__version__}, "
        f"python-calamine {version('python-calamine')}, papermill {papermill.__version__}",
    ]


# --------------------------------------------------------------------------- main


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> int:
    started = time.perf_counter()
    lines: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir()
    largest = max(n for _, n, *_ in SIZES)
    reference = synth.reference_folder(WORK / "reference", largest)
    say(f"# Benchmarks ({'small smoke-test sizes' if SMALL else 'full sizes'})")
    say()
    say(f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `make bench` on:")
    say()
    for line in machine():
        say(f"- {line}")
    say()
    say(
        "All workbooks are SYNTHETIC (fixed seed, the real yearly form `kpi_template`), written to "
        "`benchmarks/_work/`, never to `data/raw/`; see `benchmarks/synth.py`."
    )
    say()

    results, targets = {}, []
    for name, count, years, repeats, share in SIZES:
        districts = synth.districts(count)
        t0 = time.perf_counter()
        files = synth.write_forms(WORK / name / "raw", districts, years)
        made = time.perf_counter() - t0
        size_mb = sum(f.stat().st_size for f in files) / 1e6
        cap = NATION_INGEST_CAP_S if name == "nation" else None
        ing = ingest_in_child(WORK / name, repeats, reference, cap)
        t_floor = timed(floor, files)
        part = sample(files, share)
        scale = len(files) / len(part)
        t_pandas = timed(pandas_openpyxl, part) * scale
        t_openpyxl = timed(openpyxl_only, part) * scale
        t_calamine = timed(pandas_calamine, part) * scale
        results[name] = {
            "files": len(files),
            "ingest": ing,
            "floor": t_floor,
            "pandas": t_pandas,
            "openpyxl": t_openpyxl,
            "calamine": t_calamine,
        }
        say(
            f"## {name}: {count} district(s) × {len(years)} year(s) = {len(files)} workbooks, {size_mb:.1f} MB "
            f"(written in {made:.1f} s)"
        )
        say()
        sampled = f" (measured on {len(part)} of {len(files)} files, scaled ×{scale:.0f})" if scale > 1 else ""
        t_ing = ing["seconds"]
        if t_ing is None:
            say(f"- kpi ingest: did not finish within the {cap:.0f} s allowed to it (stopped)")
        else:
            say(
                f"- kpi ingest: {t_ing:.2f} s (median of {repeats}), {ing['observations']} observations = "
                f"{ing['observations'] / t_ing:,.0f} obs/s, peak memory {ing['peak_kib'] / 1024:.0f} MiB, "
                f"rejects {ing['rejects']}"
            )
        for label, key in (
            ("pandas.read_excel + openpyxl", "pandas"),
            ("openpyxl read-only, values only", "openpyxl"),
            ("pandas.read_excel + calamine", "calamine"),
        ):
            ratio = f" = {results[name][key] / t_ing:.2f} × ingest" if t_ing else ""
            say(f"- {label}: {results[name][key]:.2f} s{sampled if key != 'floor' else ''}{ratio}")
        say(
            f"- floor (unzip + tokenise the sheet XML): {t_floor:.3f} s"
            + (f"; ingest = {t_ing / t_floor:.0f} × floor" if t_ing else "")
        )
        if t_ing:
            speedup = t_pandas / t_ing
            targets.append(
                (
                    f"{name}: ingest ≥ {TARGET_VS_PANDAS}× faster than pandas + openpyxl",
                    speedup >= TARGET_VS_PANDAS,
                    f"{speedup:.2f}× (pandas {t_pandas:.2f} s, ingest {t_ing:.2f} s)",
                )
            )
            targets.append(
                (
                    f"{name}: ingest within {TARGET_VS_FLOOR}× of the floor",
                    t_ing / t_floor <= TARGET_VS_FLOOR,
                    f"{t_ing / t_floor:.0f}× (floor {t_floor:.3f} s)",
                )
            )
        else:
            targets.append(
                (
                    f"{name}: ingest ≥ {TARGET_VS_PANDAS}× faster than pandas + openpyxl",
                    False,
                    f"ingest > {cap:.0f} s, pandas {t_pandas:.0f} s",
                )
            )
        if name == "nation":
            peak = ing.get("peak_kib")
            targets.append(
                (
                    f"nation: peak memory of the ingest ≤ {TARGET_PEAK_GIB:g} GiB",
                    peak is not None and peak / 1024 / 1024 <= TARGET_PEAK_GIB,
                    f"{peak / 1024 / 1024:.2f} GiB" if peak else "not measured (ingest stopped)",
                )
            )
        say()

    # the build: default and no-op on the shipped data; many areas on the shipped data + the province
    say("## kpi build")
    say()
    shipped = WORK / "build_default"
    shutil.copytree(config.DATA_DIR / "raw", shipped / "raw")
    reports = WORK / "reports_default"
    t_default, _ = kpi_build(["--data-dir", str(shipped), "--reports-dir", str(reports)], None)
    fresh = report_seconds(reports)  # before the no-op rebuild records them as skipped
    t_noop, out_noop = kpi_build(["--data-dir", str(shipped), "--reports-dir", str(reports)], None)
    cli = papermill_cli(shipped, WORK / "papermill_cli_default", None)
    say(
        f"- default build (shipped data, 6 notebooks, one warm kernel): {t_default:.1f} s wall, "
        f"{statistics.mean(fresh):.2f} s per report inside the build"
    )
    say(f"- no-op rebuild: {t_noop:.2f} s wall ({'ingest skipped' if 'ingest: skipped' in out_noop else 'ingest ran'})")
    say(
        f"- the same 6 notebooks one by one with the papermill command line, then `jupyter nbconvert --to html`: "
        f"{sum(cli):.1f} s ({statistics.mean(cli):.2f} s per report) = {sum(cli) / t_default:.1f}× the default build"
    )
    sizes = {p.name: p.stat().st_size / 1024 for p in sorted(reports.rglob("*.html")) if p.name != "index.html"}
    say("- HTML sizes (default build): " + ", ".join(f"{n} {kb:.0f} KB" for n, kb in sizes.items()))
    province = WORK / "build_province"
    shutil.copytree(config.DATA_DIR / "raw", province / "raw")
    for f in (WORK / "province" / "raw").iterdir():
        shutil.copy2(f, province / "raw" / f.name)
    codes = ",".join(d.code for d in synth.districts(PROVINCE_AREAS if not SMALL else 2))
    n_areas = len(codes.split(","))
    per_report = {}
    fresh_province = None
    for jobs in (1, 2):
        folder = WORK / f"reports_areas_jobs{jobs}"
        if jobs > 1:  # the data is ingested by the first build: only the reports are timed
            seed_ingest_stamp(WORK / "reports_areas_jobs1", folder)
        wall, out = kpi_build(
            ["--data-dir", str(province), "--reports-dir", str(folder), "--areas", codes, "--jobs", str(jobs)],
            reference,
        )
        ingest_s = re.search(r"^ingest: \d+ observations .*? in ([0-9.]+) s", out, flags=re.M)
        if ingest_s:
            wall -= float(ingest_s.group(1))
            say(
                f"- (the first --areas build ingested the province and the shipped data in {ingest_s.group(1)} s, "
                "not counted below)"
            )
        done = report_seconds(folder)
        per_report[jobs] = wall / max(len(done), 1)
        if fresh_province is None:  # the same data, one area, a fresh papermill run per notebook
            fresh_province = papermill_cli(province, WORK / "papermill_cli_province", reference, codes.split(",")[0])
            say(
                f"- fresh papermill command line + nbconvert on the same province data, area {codes.split(',')[0]}: "
                f"{statistics.mean(fresh_province):.2f} s per report"
            )
        fresh = fresh_province
        failed = len(re.findall(r": failed ", out))
        say(
            f"- --areas ({n_areas} areas, {len(done)} reports, {failed} failed), --jobs {jobs}: {wall:.1f} s wall = "
            f"{per_report[jobs]:.2f} s per report (warm kernels; {statistics.mean(done):.2f} s per report inside "
            f"the worker) vs {statistics.mean(fresh):.2f} s for a fresh papermill run = "
            f"{statistics.mean(fresh) / per_report[jobs]:.1f}× less per report"
        )
    html_kb = largest_html_kb(reports, WORK / "reports_areas_jobs1")
    say(f"- largest report: {html_kb:.0f} KB")
    say()
    targets += [
        (f"default build ≤ {TARGET_BUILD_S:g} s", t_default <= TARGET_BUILD_S, f"{t_default:.1f} s"),
        (f"no-op rebuild ≤ {TARGET_NOOP_S:g} s", t_noop <= TARGET_NOOP_S, f"{t_noop:.2f} s"),
        (f"HTML ≤ {TARGET_HTML_KB} KB per report", html_kb <= TARGET_HTML_KB, f"largest {html_kb:.0f} KB"),
        (
            "many areas: per-report cost well below a fresh papermill run",
            per_report[2] < statistics.mean(fresh) / 2,
            f"{per_report[2]:.2f} s vs {statistics.mean(fresh):.2f} s",
        ),
    ]
    say("## Targets (2-core machine)")
    say()
    for what, ok, figures in targets:
        say(f"- {verdict(ok)}: {what} — {figures}")
    say()
    say(f"`make bench` took {time.perf_counter() - started:.0f} s.")
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {RESULTS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
