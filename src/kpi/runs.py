"""What a build is made of: runs (one set of parameters), tasks (one notebook), results, failures.

Shared by the planner (``kpi.build``), the engine that executes a notebook (``kpi.engine``)
and the state it leaves (``kpi.buildstate``); nothing here does any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

OK, SKIPPED, FAILED = "ok", "skipped", "failed"
DEFAULT_TIMEOUT_S = 600  # a cell of these notebooks takes seconds; ten minutes means it hangs


KERNEL_START_TIMEOUT_S = 60  # a cold kernel start (imports on a slow disk) takes a few seconds


KERNEL_NAME = "kpi-project"  # a label only: ProjectKernelSpecManager never looks a kernelspec up


INJECTED_TAG = "injected-parameters"  # the cell papermill adds with the build's parameters
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"  # papermill's own error banners; the header says it instead
PARAMETERS_TAG = "parameters"
ANALYST_TAG = "analyst-note"  # prose for the analyst reading the notebook; the report says it in its language
KERNEL_LOG = ".warm-kernels.log"  # stderr of the kernels reused across reports (builds of many areas)


EXECUTED_DIR = "_executed"


@dataclass(frozen=True)
class Failure:
    """Where and why a notebook stopped: ``cell`` counts the notebook's own cells from 1 (None: before any)."""

    cell: int | None
    ename: str
    evalue: str

    def __str__(self) -> str:
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename


def where(cell: int | None) -> str:
    return f"at cell {cell}" if cell is not None else "before any cell ran"


@dataclass
class NotebookResult:
    name: str  # file name, e.g. tea.ipynb
    status: str  # ok, skipped or failed
    seconds: float
    html_path: Path | None
    executed_path: Path | None = None
    title: str = ""
    inputs: str = ""  # hash of the inputs this report was built from
    built_at: str = ""
    error_cell: int | None = None
    error_message: str | None = None
    area: str = ""
    theme: str = ""

    @property
    def message(self) -> str:
        """One line for the terminal: ``tea.ipynb failed at cell 5: ValueError: …``."""
        if self.status != FAILED:
            return f"{self.name}: {self.status}"
        return f"{self.name} failed {where(self.error_cell)}: {self.error_message}"


@dataclass
class BuildResult:
    notebooks: list[NotebookResult]
    index_path: Path
    data_version: str
    seconds: float
    areas: dict[str, list[NotebookResult]] = field(default_factory=dict)  # the results of each area

    @property
    def failed(self) -> list[NotebookResult]:
        return [r for r in self.notebooks if r.status == FAILED]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass(frozen=True)
class Run:
    """One set of parameters and the folder its reports go to."""

    baseline: int
    target: int
    area: str
    lang: str
    data_dir: Path
    reports_dir: Path

    @property
    def key(self) -> str:
        return f"{self.lang}/{self.area}/{self.baseline}-{self.target}"

    @property
    def folder(self) -> Path:
        return self.reports_dir / self.key

    def parameters(self) -> dict:
        """The notebook parameters papermill injects (``data_dir`` absolute: kernels start in notebooks/)."""
        return {
            "baseline_year": self.baseline,
            "target_year": self.target,
            "area_code": self.area,
            "lang": self.lang,
            "data_dir": str(self.data_dir),
        }


@dataclass(frozen=True)
class Task:
    """Everything a worker process needs to execute and render one notebook (picklable)."""

    notebook: Path
    html_path: Path
    executed_path: Path
    index_href: str  # from the report back to reports/index.html
    parameters: dict
    header: dict  # area name, data version, build time: shown on the report
    title: str  # theme, area and period in the report's language (a notebook without a theme: its heading)
    theme: str
    nav: str  # links to the index, the other reports of the set and the other-language edition
    inputs: str
    timeout: int
    reuse_kernel: bool = False  # run in this worker's warm kernel (builds of many areas), not a fresh one
    kernel_log: str = ""  # the warm kernel's stderr goes there
