"""Why a notebook stopped, said once: the failing cell as the notebook numbers it, and a one-line cause.

Used by the engine (``kpi.engine``) for every way a run can end: a cell's error
(papermill's ``PapermillExecutionError``), a cell over its time limit, a kernel that died,
or anything else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from kpi.runs import INJECTED_TAG, PAPERMILL_ERROR_TAG, Failure

if TYPE_CHECKING:
    import nbformat


def describe_failure(exc: Exception, partial: Path, timeout: int) -> Failure:
    """The failing cell (as the notebook numbers it) and a one-line cause, whatever stopped the run."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        cell = failing_cell(nbformat.read(partial, as_version=4)) if partial.exists() else None
    except (OSError, ValueError):  # cut short while papermill was writing it: the cause still counts
        cell = None
    if isinstance(exc, PapermillExecutionError):
        return Failure(cell, exc.ename, first_line(exc.evalue))
    if isinstance(exc, CellTimeoutError):
        return Failure(cell, "TimeoutError", f"the cell ran longer than the {timeout} s allowed per cell")
    if isinstance(exc, DeadKernelError):
        return Failure(cell, "DeadKernelError", "the kernel died while running the cell (out of memory, or a crash)")
    return Failure(cell, exc.__class__.__name__, first_line(exc))


def first_line(exc: object) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else ""


def own_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The notebook's cells as its author numbers them: without papermill's injected and banner cells."""
    added = {INJECTED_TAG, PAPERMILL_ERROR_TAG}
    return [c for c in nb.cells if not added.intersection(c.get("metadata", {}).get("tags", []))]


def failing_cell(nb: nbformat.NotebookNode) -> int | None:
    """1-based number of the cell that raised, or else of the last cell started (timeout, dead kernel).

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("1")])
    >>> nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="E", evalue="", traceback=[])]
    >>> failing_cell(nb)
    2
    """
    cells = own_cells(nb)
    for number, cell in enumerate(cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return number
        if cell.get("metadata", {}).get("papermill", {}).get("exception"):
            return number
    started = [n for n, c in enumerate(cells, start=1) if c.get("metadata", {}).get("papermill", {}).get("start_time")]
    return started[-1] if started else None
