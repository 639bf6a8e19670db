"""Runs of ``make bench`` in fresh processes (the ingest, ``kpi build``, the papermill command line)
and the machine they run on."""

from __future__ import annotations

import json
import os
import platform
import re
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
print(json.dumps({"seconds": seconds, "stages": stages, "validation": validation,
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
