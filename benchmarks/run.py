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

import os
import re
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402
from children import (  # noqa: E402
    ingest_after_reading,
    ingest_in_child,
    kpi_build,
    largest_html_kb,
    machine,
    papermill_cli,
    report_seconds,
)
from readers import floor, openpyxl_only, pandas_calamine, pandas_openpyxl, sample, timed  # noqa: E402

from kpi import config  # noqa: E402

WORK = HERE / "_work"
RESULTS = HERE / "results.md"
YEARS_ALL = list(range(2012, 2023))  # the first edition's span, 2012-2022
YEARS_NATION = [2012, 2022]  # the report's baseline and target years
SMALL = os.environ.get("BENCH_SCALE") == "small"
SIZES = [  # (name, districts, years, repeats of the ingest, share of files read by the slow readers, share as text)
    ("district", 1, YEARS_ALL, 3, 1.0, 0.0),
    ("province", 2 if SMALL else 8, YEARS_ALL, 3, 1.0, 0.0),
    ("province-text-30", 2 if SMALL else 8, YEARS_ALL, 3, 1.0, 0.3),  # 30 % of the figures typed as text
    ("province-text-100", 2 if SMALL else 8, YEARS_ALL, 3, 1.0, 1.0),  # every figure typed as text
    ("nation", 4 if SMALL else 700, YEARS_NATION, 1, 1.0 if SMALL else 0.1, 0.0),
]
NATION_INGEST_CAP_S = 540  # the whole of `make bench` must stay under 15 minutes
PROVINCE_AREAS = 8  # reports for N areas: the province's districts

TARGET_PROVINCE_S = 1.0  # the province ingest
TARGET_VS_PANDAS = 10  # the nation ingest at least 10x faster than pandas.read_excel + openpyxl
TARGET_VS_FLOOR = 4  # the nation ingest within 4x of unzip-and-tokenise
TARGET_PEAK_GIB = 1.0  # peak memory of the nation-size ingest
TARGET_VALIDATION = 0.10  # the schema validation's share of the province ingest
TARGET_BUILD_S = 4.5  # the default build
TARGET_NOOP_S = 0.5  # a rebuild with nothing changed
TARGET_HTML_KB = 600  # one report, to be e-mailed


HISTORY = "## Earlier runs\n"  # results.md keeps, under this heading, what earlier runs were compared with


# --------------------------------------------------------------------------- main


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


class Report:
    """The lines of ``results.md``, printed as they come, and the targets met or not."""

    def __init__(self):
        self.lines: list[str] = []
        self.targets: list[tuple[str, bool, str]] = []

    def say(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def target(self, what: str, ok: bool, figures: str) -> None:
        self.targets.append((what, ok, figures))


def stage_text(stages: dict[str, float]) -> str:
    """``read 0.41 s, process 0.22 s, …`` with each stage's share of the whole."""
    whole = sum(stages.values()) or 1.0
    return ", ".join(f"{k} {v:.2f} s ({v / whole:.0%})" for k, v in stages.items())


def ingest_size(out: Report, size: tuple, reference: Path) -> None:
    """One size: write the forms, ingest them in a fresh process, read them with the plain readers and the floor."""
    name, count, years, repeats, share, text_share = size
    t0 = time.perf_counter()
    files = synth.write_forms(WORK / name / "raw", synth.districts(count), years, text_share=text_share)
    made = time.perf_counter() - t0
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    cap = NATION_INGEST_CAP_S if name.startswith("nation") else None
    ing = ingest_in_child(WORK / name, repeats, reference, cap)
    t_floor = timed(floor, files)
    part = sample(files, share)
    scale = len(files) / len(part)
    readers = {
        "pandas.read_excel + openpyxl": timed(pandas_openpyxl, part) * scale,
        "openpyxl read-only, values only": timed(openpyxl_only, part) * scale,
        "pandas.read_excel + calamine": timed(pandas_calamine, part) * scale,
    }
    typed = f", {text_share:.0%} of the figures typed as Vietnamese number text" if text_share else ""
    out.say(
        f"## {name}: {count} district(s) × {len(years)} year(s) = {len(files)} workbooks, {size_mb:.1f} MB"
        f"{typed} (written in {made:.1f} s)"
    )
    out.say()
    sampled = f" (measured on {len(part)} of {len(files)} files, scaled ×{scale:.0f})" if scale > 1 else ""
    t_ing = ing["seconds"]
    if t_ing is None:
        out.say(f"- kpi ingest: did not finish within the {cap:.0f} s allowed to it (stopped)")
    else:
        out.say(
            f"- kpi ingest: {t_ing:.2f} s ({runs_of(ing, repeats)}), "
            f"{ing['observations']} observations = "
            f"{ing['observations'] / t_ing:,.0f} obs/s, peak memory {ing['peak_kib'] / 1024:.0f} MiB"
            f"{readers_peak(ing)}, rejects {ing['rejects']}"
        )
        out.say(f"- stages: {stage_text(ing['stages'])}")
        out.say(
            f"- of which the schema validation of the observations: {ing['validation']:.2f} s = "
            f"{ing['validation'] / t_ing:.1%} of the ingest"
        )
    for label, seconds in readers.items():
        ratio = f" = {seconds / t_ing:.2f} × ingest" if t_ing else ""
        out.say(f"- {label}: {seconds:.2f} s{sampled}{ratio}")
    out.say(
        f"- floor (unzip + tokenise the sheet XML): {t_floor:.3f} s"
        + (f"; ingest = {t_ing / t_floor:.0f} × floor" if t_ing else "")
    )
    if name == "nation" and t_ing:
        after = ingest_after_reading(WORK / name, reference)
        t_after, t_pandas = after["seconds"], readers["pandas.read_excel + openpyxl"]
        out.say(
            f"- the same ingest with every file already read and cleaned (each file's result loaded, as a "
            f"reading process sends it back): {t_after:.2f} s = {t_after / t_floor:.1f} × floor, "
            f"{t_pandas / t_after:.1f}× faster than pandas + openpyxl; stages: {stage_text(after['stages'])}. "
            "What the stages after reading cost: faster reading and cleaning alone cannot go below it"
        )
    out.say()
    ingest_targets(out, name, ing, readers["pandas.read_excel + openpyxl"], t_floor, cap)


def ingest_targets(out: Report, name: str, ing: dict, t_pandas: float, t_floor: float, cap: float | None) -> None:
    t_ing = ing["seconds"]
    if name == "province" and t_ing:
        out.target(f"province ingest ≤ {TARGET_PROVINCE_S:g} s", t_ing <= TARGET_PROVINCE_S, f"{t_ing:.2f} s")
        share = ing["validation"] / t_ing
        out.target(
            f"province: schema validation ≤ {TARGET_VALIDATION:.0%} of the ingest",
            share <= TARGET_VALIDATION,
            f"{share:.1%} ({ing['validation']:.2f} s)",
        )
    if name != "nation":
        return
    if not t_ing:
        out.target(f"nation: ingest ≥ {TARGET_VS_PANDAS}× faster than pandas + openpyxl", False, f"> {cap:.0f} s")
        return
    speedup = t_pandas / t_ing
    out.target(
        f"nation: ingest ≥ {TARGET_VS_PANDAS}× faster than pandas + openpyxl",
        speedup >= TARGET_VS_PANDAS,
        f"{speedup:.2f}× (pandas {t_pandas:.2f} s, ingest {t_ing:.2f} s)",
    )
    out.target(
        f"nation: ingest within {TARGET_VS_FLOOR}× of the floor",
        t_ing / t_floor <= TARGET_VS_FLOOR,
        f"{t_ing / t_floor:.0f}× (floor {t_floor:.3f} s)",
    )
    peak = ing["peak_kib"] / 1024 / 1024
    out.target(
        f"nation: peak memory of the ingest ≤ {TARGET_PEAK_GIB:g} GiB",
        peak <= TARGET_PEAK_GIB,
        f"{peak:.2f} GiB",
    )


def runs_of(ing: dict, repeats: int) -> str:
    """Which run the figure is, and the first of several: the one a fresh ``kpi ingest`` makes, with
    the reference tables and layouts not yet loaded."""
    if repeats == 1:
        return "one run"
    return f"median of {repeats} in one process; the first, as a fresh `kpi ingest` makes it: {ing['first']:.2f} s"


def readers_peak(ing: dict) -> str:
    """The largest forked process's peak beside the ingest's own: the readers of raw files
    (``kpi.executors.read_map``) and the writer of the observations (``kpi.beside``), if any ran.
    A fork's resident memory counts the pages it still shares with the ingest."""
    kib = ing.get("readers_peak_kib") or 0
    return (
        f" (each forked process, readers of raw files and the observations' writer, at most {kib / 1024:.0f} MiB "
        "resident, pages shared with the ingest included)"
        if kib
        else " (in one process)"
    )


def default_build(out: Report) -> Path:
    """The default build and the no-op rebuild on the shipped data, against papermill + nbconvert by hand."""
    out.say("## kpi build")
    out.say()
    shipped = WORK / "build_default"
    shutil.copytree(config.DATA_DIR / "raw", shipped / "raw")
    reports = WORK / "reports_default"
    t_default, _ = kpi_build(["--data-dir", str(shipped), "--reports-dir", str(reports)], None)
    fresh = report_seconds(reports)  # before the no-op rebuild records them as skipped
    t_noop, out_noop = kpi_build(["--data-dir", str(shipped), "--reports-dir", str(reports)], None)
    cli = papermill_cli(shipped, WORK / "papermill_cli_default", None)
    out.say(
        f"- default build (shipped data, 6 notebooks, {config.DEFAULT_JOBS} warm kernel(s)): {t_default:.1f} s wall, "
        f"{statistics.mean(fresh):.2f} s per report inside the build"
    )
    skipped = "ingest skipped" if "ingest: skipped" in out_noop else "ingest ran"
    out.say(f"- no-op rebuild: {t_noop:.2f} s wall ({skipped})")
    out.say(
        f"- the same 6 notebooks one by one with the papermill command line, then `jupyter nbconvert --to html`: "
        f"{sum(cli):.1f} s ({statistics.mean(cli):.2f} s per report) = {sum(cli) / t_default:.1f}× the default build"
    )
    sizes = {p.name: p.stat().st_size / 1024 for p in sorted(reports.rglob("*.html")) if p.name != "index.html"}
    out.say("- HTML sizes (default build): " + ", ".join(f"{n} {kb:.0f} KB" for n, kb in sizes.items()))
    out.target(f"default build ≤ {TARGET_BUILD_S:g} s", t_default <= TARGET_BUILD_S, f"{t_default:.1f} s")
    out.target(f"no-op rebuild ≤ {TARGET_NOOP_S:g} s", t_noop <= TARGET_NOOP_S, f"{t_noop:.2f} s")
    return reports


def areas_build(out: Report, reference: Path, reports: Path) -> None:
    """The reports of the province's districts (``--areas``), one and two jobs, against a fresh papermill run."""
    province = WORK / "build_province"
    shutil.copytree(config.DATA_DIR / "raw", province / "raw")
    for f in (WORK / "province" / "raw").iterdir():
        shutil.copy2(f, province / "raw" / f.name)
    codes = ",".join(d.code for d in synth.districts(PROVINCE_AREAS if not SMALL else 2))
    n_areas = len(codes.split(","))
    per_report = {}
    fresh = None
    for jobs in (1, 2):
        folder = WORK / f"reports_areas_jobs{jobs}"
        # the first build ingests the data (its stamp is in the data folder); after it only reports are timed
        args = ["--data-dir", str(province), "--reports-dir", str(folder), "--areas", codes, "--jobs", str(jobs)]
        wall, log = kpi_build(args, reference)
        ingest_s = re.search(r"^ingest: \d+ observations .*? in ([0-9.]+) s", log, flags=re.M)
        if ingest_s:
            wall -= float(ingest_s.group(1))
            out.say(
                f"- (the first --areas build ingested the province and the shipped data in {ingest_s.group(1)} s, "
                "not counted below)"
            )
        done = report_seconds(folder)
        per_report[jobs] = wall / max(len(done), 1)
        if fresh is None:  # the same data, one area, a fresh papermill run per notebook
            fresh = statistics.mean(
                papermill_cli(province, WORK / "papermill_cli_province", reference, codes.split(",")[0])
            )
            out.say(
                f"- fresh papermill command line + nbconvert on the same province data, area {codes.split(',')[0]}: "
                f"{fresh:.2f} s per report"
            )
        failed = len(re.findall(r": failed ", log))
        out.say(
            f"- --areas ({n_areas} areas, {len(done)} reports, {failed} failed), --jobs {jobs}: {wall:.1f} s wall = "
            f"{per_report[jobs]:.2f} s per report (warm kernels; {statistics.mean(done):.2f} s per report inside "
            f"the worker) vs {fresh:.2f} s for a fresh papermill run = {fresh / per_report[jobs]:.1f}× less per report"
        )
    html_kb = largest_html_kb(reports, WORK / "reports_areas_jobs1")
    out.say(f"- largest report: {html_kb:.0f} KB")
    out.say()
    out.target(f"HTML ≤ {TARGET_HTML_KB} KB per report", html_kb <= TARGET_HTML_KB, f"largest {html_kb:.0f} KB")
    out.target(
        "many areas: per-report cost well below a fresh papermill run",
        per_report[2] < fresh / 2,
        f"{per_report[2]:.2f} s vs {fresh:.2f} s",
    )


def main() -> int:
    started = time.perf_counter()
    out = Report()
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir()
    reference = synth.reference_folder(WORK / "reference", max(size[1] for size in SIZES))
    out.say(f"# Benchmarks ({'small smoke-test sizes' if SMALL else 'full sizes'})")
    out.say()
    out.say(f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `make bench` on:")
    out.say()
    for line in machine():
        out.say(f"- {line}")
    out.say()
    out.say(
        "All workbooks are SYNTHETIC (fixed seed, the real yearly form `kpi_template`), written to "
        "`benchmarks/_work/`, never to `data/raw/`; see `benchmarks/synth.py`."
    )
    out.say()
    for size in SIZES:
        ingest_size(out, size, reference)
    reports = default_build(out)
    areas_build(out, reference, reports)
    out.say("## Targets (2-core machine)")
    out.say()
    for what, ok, figures in out.targets:
        out.say(f"- {verdict(ok)}: {what} — {figures}")
    out.say()
    out.say(f"`make bench` took {time.perf_counter() - started:.0f} s.")
    previous = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    history = previous.split(HISTORY, 1)[1] if HISTORY in previous else ""
    RESULTS.write_text("\n".join(out.lines) + "\n\n" + HISTORY + history, encoding="utf-8")
    print(f"written to {RESULTS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
