"""Write processed outputs atomically, and keep two runs from writing at once.

All outputs of a run are written into a staging folder beside ``processed/`` and swapped
in at the end, so a run that fails or is killed half-way leaves the previous outputs whole.
Single files (reports, exports) go through ``atomic_write`` (temporary file, then rename).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas costs a quarter second to import: not on the path of a build with nothing to do
    import pandas as pd

from kpi.errors import KpiError

LOCK_FILE = ".kpi.lock"
HOLDER_FILE = ".kpi.lock.holder"


class Busy(KpiError):
    exit_code = 3


@contextlib.contextmanager
def run_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold ``<folder>/.kpi.lock`` for the whole run; a second run is told who holds it.

    The lock is the ``filelock`` library's: ``flock`` on Linux and macOS, ``msvcrt.locking`` on
    Windows, so ``kpi`` starts on every system.  The operating system releases it when the
    process ends, however it ends.  Who holds it is written beside it (``.kpi.lock.holder``).
    """
    from filelock import FileLock, Timeout  # not on the path of a command that takes no lock

    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK_FILE)
    holder = folder / HOLDER_FILE
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            who = holder.read_text(encoding="utf-8").strip()
        except OSError:
            who = ""
        raise Busy(
            f"another kpi run is using {folder} ({who or 'another process'}); wait for it to finish and try again"
        ) from None
    try:
        holder.write_text(f"kpi {what}, process {os.getpid()}", encoding="utf-8")
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    The temporary file is created with mode 0o666 less the user's umask, as ``open()`` would
    create ``path`` itself (outputs are meant to be shared), and without touching the process's
    umask, which other threads (Dask workers) share.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = _new_temporary(path)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _new_temporary(path: Path) -> Path:
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return candidate


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``target`` whole, on failure it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(target.name + ".old")
    if old.exists() and not target.exists():
        old.rename(target)  # a run killed between the two renames below: put the previous outputs back
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for stray in staging.rglob(".*.tmp"):  # left by a writer killed mid-file (its work was done again)
        stray.unlink()
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV in UTF-8 (NFC text, ``.`` decimal) with a stable row order, written atomically."""
    from kpi.csvout import write_csv  # the bytes of pandas' to_csv, a column at a time

    atomic_write(path, lambda p: write_csv(frame, p))


def write_json(obj: object, path: Path) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
