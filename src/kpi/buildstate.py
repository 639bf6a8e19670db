"""What was built from which inputs, and so what is up to date (``reports/.build-state.json``).

A report is skipped when its inputs -- notebook bytes, the data it reads (``kpi.reads``),
parameters and library version -- are those of its last successful build and its report is
still on disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from kpi import stamps
from kpi.runs import FAILED, SKIPPED, NotebookResult, Run
from kpi.write import atomic_write_text

STATE_FILE = ".build-state.json"


STATE_FORMAT = 2  # bump when the state layout changes: an unknown format means rebuild everything


def inputs_hash(notebook: Path, data: str, parameters: dict, library: str) -> str:
    """What a report is made from: its notebook, the data it reads (``kpi.reads``), parameters, library."""
    payload = json.dumps(
        {
            "notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(),
            "data": data,
            "parameters": parameters,
            "library": library,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def nothing_built(reports_dir: Path, data_dir: Path, inputs: Callable[[], str] | None = None) -> bool:
    """Whether every report of a build will run: the data must be ingested, or no report was built
    in ``reports_dir`` yet (``kpi build`` then starts its kernels before anything else)."""
    return not (reports_dir / STATE_FILE).exists() or stamps.current_version(data_dir, inputs) is None


def load_state(reports_dir: Path) -> dict:
    """The previous build's state; unreadable or of another format means nothing is up to date."""
    path = reports_dir / STATE_FILE
    if not path.exists():
        return {"format": STATE_FORMAT, "runs": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"build state {path.name} unreadable ({exc.__class__.__name__}); rebuilding every report", flush=True)
        return {"format": STATE_FORMAT, "runs": {}}
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        return {"format": STATE_FORMAT, "runs": {}}
    return state


def is_up_to_date(entry: dict | None, inputs: str, reports_dir: Path) -> bool:
    """Same inputs, not failed, and the report and executed notebook are still on disk."""
    if not entry or entry.get("inputs") != inputs or entry.get("status") == FAILED:
        return False
    paths = [entry.get("html"), entry.get("executed")]
    return all(p and (reports_dir / p).is_file() for p in paths)


def entry_of(result: NotebookResult, reports_dir: Path) -> dict:
    rel = lambda p: p.relative_to(reports_dir).as_posix() if p else None
    return {
        "inputs": result.inputs,
        "status": result.status,
        "seconds": round(result.seconds, 2),
        "html": rel(result.html_path),
        "executed": rel(result.executed_path),
        "title": result.title,
        "built_at": result.built_at,
        "error_cell": result.error_cell,
        "error": result.error_message,
        "theme": result.theme,
    }


def result_of(name: str, entry: dict, reports_dir: Path) -> NotebookResult:
    """A skipped notebook's result, from the entry of the build that made its report."""
    return NotebookResult(
        name=name,
        status=SKIPPED,
        seconds=0.0,
        html_path=reports_dir / entry["html"],
        executed_path=reports_dir / entry["executed"] if entry.get("executed") else None,
        title=entry.get("title", ""),
        inputs=entry["inputs"],
        built_at=entry.get("built_at", ""),
        theme=entry.get("theme", ""),
    )


def save_states(
    state: dict, outcomes: list[tuple[Run, list[NotebookResult], dict]], still_there: set[str] = frozenset()
) -> dict:
    """The state with this build's runs updated, written once; other runs keep the reports still on disk.

    A notebook of the folder not built this time (``--only``) keeps its entry and report;
    one no longer in the folder leaves the run, and so the index; a report renamed (other
    parameters give other names) leaves no file behind.
    """
    reports_dir = outcomes[0][0].reports_dir
    this_build = {run.key for run, _, _ in outcomes}
    on_disk = lambda e: bool(e.get("html")) and (reports_dir / e["html"]).is_file()
    runs = {
        key: {**other, "notebooks": {n: e for n, e in other["notebooks"].items() if on_disk(e)}}
        for key, other in state["runs"].items()
        if key not in this_build
    }
    runs = {key: run for key, run in runs.items() if run["notebooks"]}
    for run, results, header in outcomes:
        built = {r.name for r in results}
        old = state["runs"].get(run.key, {}).get("notebooks", {})
        kept = {n: e for n, e in old.items() if n not in built and n in still_there and on_disk(e)}
        new_pages = {p for r in results for p in (r.html_path, r.executed_path) if p}
        for name, entry in old.items():
            if name in kept:
                continue
            for rel in (entry.get("html"), entry.get("executed")):
                if rel and (reports_dir / rel) not in new_pages:
                    (reports_dir / rel).unlink(missing_ok=True)
        runs[run.key] = {
            "parameters": {k: v for k, v in run.parameters().items() if k != "data_dir"},
            **header,
            "notebooks": {**kept, **{r.name: entry_of(r, reports_dir) for r in results}},
        }
    new_state = {"format": STATE_FORMAT, "runs": runs}
    atomic_write_text(reports_dir / STATE_FILE, json.dumps(new_state, ensure_ascii=False, indent=1) + "\n")
    return new_state


def checked_before(state: dict, data_dir: Path, key: str, force: bool, inputs: Callable[[], str]) -> dict | None:
    """The previous run of these parameters, when nothing the checks read has changed since.

    Its area was found in the gazetteer and its years in the data: with the same raw data,
    reference tables and library (the ingest stamp) and the same data version, the checks
    would give the same answer, so a rebuild with nothing to do skips them (and pandas).
    ``inputs`` gives the current ingest inputs hash (computed once per build, whatever the areas).
    """
    if force:
        return None
    entry = state.get("runs", {}).get(key)
    if not entry or not entry.get("data_version"):
        return None
    return entry if stamps.current_version(data_dir, inputs) == entry["data_version"] else None
