"""Runs of ``make bench`` in fresh processes (the ingest, ``kpi build``, the papermill command line)
and the machine they run on."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from kpi import config

INGEST_CHILD = """
import json, resource, statistics, sys, time
from kpi import ingest
data, repeats = sys.argv[1], int(sys.argv[2])
runs = []
for _ in range(repeats):
    start = time.perf_counter()
    result = ingest.run(data)
    runs.append((time.perf_counter() - start, result.stages, result.validation_seconds))
seconds, stages, validation = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
print(json.dumps({"seconds": seconds, "first": runs[0][0], "stages": stages, "validation": validation,
                  "observations": len(result.observations), "rejects": len(result.rejects),
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "readers_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


# --------------------------------------------------------------------------- readers


# --------------------------------------------------------------------------- runs in fresh processes


def env_with(reference: Path | None) -> dict:
    env = dict(os.environ)
    env.pop("KPI_REFERENCE_DIR", None)
    if reference is not None:
        env["KPI_REFERENCE_DIR"] = str(reference)
    return env


def python_child(script: str, args: list[str], reference: Path | None, what: str, cap: float | None = None) -> str:
    """``script`` run by a fresh ``python -c`` with ``args``; the last line it printed.  A failure
    raises, naming ``what`` and the end of its stderr; TimeoutExpired passes through."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env_with(reference),
        capture_output=True,
        text=True,
        timeout=cap,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{proc.stderr[-3000:]}")
    return (proc.stdout.strip().splitlines() or [""])[-1]


def ingest_in_child(data: Path, repeats: int, reference: Path, cap: float | None = None) -> dict:
    try:
        line = python_child(INGEST_CHILD, [str(data), str(repeats)], reference, f"ingest of {data}", cap)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "capped_at": cap}
    return json.loads(line)


READ_RESULTS_CHILD = """
import pickle, sys
from pathlib import Path
from kpi import ingest, reference
from kpi.config import DataPaths
records = reference.source_records(DataPaths.of(sys.argv[1]).raw)
ingest.shared_reference(records)
for record in records:
    (Path(sys.argv[2]) / (record.source_id + ".pickle")).write_bytes(pickle.dumps(ingest.extract_one(record)))
"""

AFTER_READING_CHILD = """
import json, pickle, sys, time
from pathlib import Path
from kpi import ingest

def read_before(record):  # what extract_one gave for this file, as a reading process sends it back
    return pickle.loads((Path(sys.argv[2]) / (record.source_id + ".pickle")).read_bytes())

ingest.extract_one = read_before
start = time.perf_counter()
result = ingest.run(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "stages": result.stages}))
"""


def ingest_after_reading(data: Path, reference: Path) -> dict:
    """The ingest of ``data`` with every file already read and cleaned: each file's result (what
    ``kpi.ingest.extract_one`` gives) is saved first, by one process, then a fresh process times
    ``ingest.run`` with those results loaded in place of reading the files.  What the stages
    after reading cost: a bound that faster reading and cleaning alone cannot pass."""
    saved = data.parent / f"{data.name}-read"
    shutil.rmtree(saved, ignore_errors=True)
    saved.mkdir()
    args, what = [str(data), str(saved)], f"ingest of {data} after reading"
    try:
        python_child(READ_RESULTS_CHILD, args, reference, what)
        return json.loads(python_child(AFTER_READING_CHILD, args, reference, what))
    finally:
        shutil.rmtree(saved, ignore_errors=True)


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
    from kpi import render

    for notebook in sorted(p for p in config.NOTEBOOKS_DIR.glob("*.ipynb") if render.is_report(p)):
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
