"""When the data must be ingested again: a stamp of what ``kpi ingest`` reads, and the version it made.

Every ingest writes the stamp into the folder it writes (``processed/ingest-stamp.json``: a
hash of the raw folder, the reference tables and the library, with the data version it
gave), so ``kpi ingest`` and ``kpi build`` keep it alike; the processed folder must still
hold that version, so a deleted or re-ingested folder counts as changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import kpi
from kpi import config


def library_version() -> str:
    """A hash of the library's code and version: a change to any module may change every report."""
    root = Path(kpi.__file__).resolve().parent
    digest = hashlib.sha256(kpi.__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def folder_fingerprint(folder: Path, digest: hashlib._Hash) -> None:
    """Every file's path, size, mtime and content into ``digest`` (content: a touched but equal file is equal)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder).as_posix()}\0{stat.st_size}\0".encode())
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError as exc:  # unreadable: the reader says so, with what to do; here it only counts as changed
            digest.update(f"unreadable: {exc.__class__.__name__}".encode())


def ingest_inputs(data_dir: Path) -> str:
    """A hash of what ``kpi ingest`` reads: the raw folder, the reference folder and the library."""
    digest = hashlib.sha256(library_version().encode())
    for folder in (config.DataPaths.of(data_dir).raw, config.REFERENCE_DIR):
        digest.update(str(folder.name).encode())
        if folder.is_dir():
            folder_fingerprint(folder, digest)
    return digest.hexdigest()[:16]


def processed_version(data_dir: Path) -> str | None:
    """The data version of ``processed/`` as the last ingest wrote it (None: missing or unreadable)."""
    processed = config.DataPaths.of(data_dir).processed
    try:
        if not (processed / "observations.parquet").is_file():
            return None
        with (processed / "datapackage.json").open(encoding="utf-8") as fh:
            return json.load(fh).get("version")
    except (OSError, ValueError):
        return None


STAMP_FILE = "ingest-stamp.json"  # in processed/: what the ingest that wrote the folder read, and what it made


def stamp_of(data_dir: Path) -> dict:
    """The stamp the last ingest left in ``processed/`` ({} when there is none or it is unreadable)."""
    try:
        with (config.DataPaths.of(data_dir).processed / STAMP_FILE).open(encoding="utf-8") as fh:
            stamp = json.load(fh)
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def current_version(data_dir: Path, inputs: Callable[[], str] | None = None) -> str | None:
    """The data version of ``processed/`` when nothing ``kpi ingest`` reads changed since it was
    written (raw files, reference tables, library), else None.  No pandas is imported: a build
    with nothing to do stays quick.  ``inputs`` gives the current inputs hash (computed once)."""
    stamp = stamp_of(data_dir)
    now = inputs() if inputs is not None else ingest_inputs(data_dir)
    if not stamp or stamp.get("inputs") != now or processed_version(data_dir) != stamp.get("data_version"):
        return None
    return str(stamp["data_version"])


def processed_years(data_dir: Path) -> set[int]:
    """The years with data in ``processed/`` (read from the observations' year column only)."""
    import pandas as pd

    return set(
        pd.read_parquet(config.DataPaths.of(data_dir).processed / "observations.parquet", columns=["year"])[
            "year"
        ].astype(int)
    )
