"""Write processed outputs atomically, and keep two runs from writing at once.

All outputs of a run are written into a staging folder beside ``processed/`` and swapped
in at the end, so a run that fails or is killed half-way leaves the previous outputs whole.
Single files (reports, exports) go through ``atomic_write`` (temporary file, then rename).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from itertools import repeat
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
    atomic_write_text(path, json_text(obj) + "\n")


def json_text(obj: object) -> str:
    """``json.dumps(obj, ensure_ascii=False, indent=2, default=str)``, the same text, three times
    quicker: with an indent, the standard library encodes value by value in Python, through a
    generator a level; here a list of records (a table's rows) is written a column at a time,
    each column through one encoder (a province's validation report, 3.4 MB: 0.038 -> 0.013 s).

    >>> print(json_text({"a": [1, 2.5, float("nan")], "b": {}, 3: None, "c": ("x", True)}))
    {
      "a": [
        1,
        2.5,
        NaN
      ],
      "b": {},
      "3": null,
      "c": [
        "x",
        true
      ]
    }
    """
    out: list[str] = []
    _encode(obj, "\n", out)
    return "".join(out)


_INF = float("inf")
_STRING = json.encoder.encode_basestring  # the C encoder's, as json.dumps with ensure_ascii=False uses


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (_INF, -_INF):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


_SCALARS = {
    str: _STRING,
    float: _float_text,
    int: int.__repr__,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}


def _scalar(value: object) -> str | None:
    """The text of a value that is no container, as ``json`` writes it; None for a container."""
    exact = _SCALARS.get(type(value))
    if exact is not None:
        return exact(value)
    if isinstance(value, str):  # subclasses, in the order json's own encoder tries them
        return _STRING(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, (list, tuple, dict)):
        return None
    return _STRING(str(value))  # default=str


def _key(key: object) -> str:
    if isinstance(key, str):
        return _STRING(key)
    if isinstance(key, float):
        return _STRING(_float_text(key))
    if key is True or key is False or key is None:
        return _STRING(_SCALARS[type(key)](key))
    if isinstance(key, int):
        return _STRING(int.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _encode(obj: object, newline: str, out: list[str]) -> None:
    """``obj`` as indented JSON, its lines after the first starting with ``newline``."""
    text = _scalar(obj)
    if text is not None:
        out.append(text)
        return
    inner = newline + "  "
    if not obj:
        out.append("{}" if isinstance(obj, dict) else "[]")
    elif isinstance(obj, dict):
        separator = "{" + inner
        for key, value in obj.items():
            out += (separator, _key(key), ": ")
            _encode(value, inner, out)
            separator = "," + inner
        out += (newline, "}")
    elif not _records(obj, newline, out):
        separator = "[" + inner
        for value in obj:
            out.append(separator)
            _encode(value, inner, out)
            separator = "," + inner
        out += (newline, "]")


def _records(rows: list | tuple, newline: str, out: list[str]) -> bool:
    """A list of records (a table's ``to_dict("records")``: dicts of the same keys, in the same order)
    written a column at a time, each column's values through one encoder; False for any other list."""
    first = rows[0]
    if type(first) is not dict or not first or len(rows) < RECORDS_AT_ONCE:
        return False
    names = tuple(first)
    if not all(type(row) is dict and tuple(row) == names for row in rows):
        return False
    row_newline = newline + "  "
    columns = [_column_texts([row[name] for row in rows]) for name in names]
    if any(column is None for column in columns):
        return False  # a value that is a list or a dict: record by record
    field_newline = row_newline + "  "
    pieces = ["{" if n == 0 else "," for n in range(len(names))]
    pieces = [f"{start}{field_newline}{_key(name)}: " for start, name in zip(pieces, names)]
    per_row = zip(*(part for piece, column in zip(pieces, columns) for part in (repeat(piece), column)))
    close = f"{row_newline}}}"
    out += ("[", row_newline, f"{close},{row_newline}".join(map("".join, per_row)), close, newline, "]")
    return True


RECORDS_AT_ONCE = 8  # shorter lists are written value by value


def _column_texts(values: list) -> list[str] | None:
    """The texts of one column's values, or None when one of them is a container."""
    kinds = set(map(type, values))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is str:
            return list(map(_STRING, values))
        if kind is int:
            return list(map(int.__repr__, values))
        if kind is float:
            texts = list(map(float.__repr__, values))
            for i in [i for i, finite in enumerate(map(math.isfinite, values)) if not finite]:
                texts[i] = _float_text(values[i])
            return texts
    texts = list(map(_scalar, values))
    return None if None in texts else texts
