"""Where papermill's messages go: the log file of the notebook a thread runs, never the terminal."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


def run_log_path(executed_path: Path) -> Path:
    """``_executed/<notebook>.log``: papermill's messages and the kernel's stderr, for debugging."""
    return executed_path.with_suffix(".log")


class _RunLog(logging.Handler):
    """papermill's log (which repeats every cell error) into the log file of the notebook this thread
    runs, not the terminal; installed once, so concurrent runs (threads of a Dask worker) never
    move each other's handlers.  Outside a run, warnings go where Python sends unhandled ones."""

    target = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        path = getattr(self.target, "path", None)
        if path is None:
            if record.levelno >= logging.WARNING:
                logging.lastResort.handle(record)
            return
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(self.format(record) + "\n")


def _install_run_log() -> None:
    logger = logging.getLogger("papermill")
    if not any(isinstance(h, _RunLog) for h in logger.handlers):
        handler = _RunLog()
        handler.setFormatter(logging.Formatter("[papermill] %(levelname)s | %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


@contextlib.contextmanager
def papermill_log(path: Path, before: Callable[[], object] = lambda: None) -> Iterator[None]:
    """papermill's messages of this thread's run go to ``path`` while it lasts (``before`` runs first:
    the engine registers its warm-kernel engine with papermill there)."""
    _install_run_log()
    before()
    previous = getattr(_RunLog.target, "path", None)
    _RunLog.target.path = path
    try:
        yield
    finally:
        _RunLog.target.path = previous
