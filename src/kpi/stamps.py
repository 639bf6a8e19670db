"""When the data must be ingested again: a stamp of what ``kpi ingest`` reads, and the edition it made.

The stamp (a hash of the raw folder, the reference tables and the library, with the data
version it gave) is kept in the build state per data folder; the processed folder must still
hold that version, so a deleted or re-ingested folder counts as changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import kpi
from kpi import config

if TYPE_CHECKING:
    from kpi import executors


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
        digest.update(hashlib.sha256(path.read_bytes()).digest())


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


def ingest_step(data_dir: Path, state: dict, force: bool, pool: executors.Executor, echo: Callable[[str], None]) -> str:
    """Ingest unless nothing it reads changed since the last build's ingest; returns the data version.

    The stamp (inputs hash, data version) is kept in the build state, per data folder; the
    processed folder must still hold that version, so a deleted or re-ingested folder counts.
    """
    inputs = ingest_inputs(data_dir)
    stamps = state.setdefault("ingest", {})
    stamp = stamps.get(str(data_dir), {})
    if not force and stamp.get("inputs") == inputs and processed_version(data_dir) == stamp.get("data_version"):
        echo(
            f"ingest: skipped (raw data, reference tables and library unchanged); data version {stamp['data_version']}"
        )
        return stamp["data_version"]
    from kpi import editions, ingest

    ingested = ingest.run(data_dir, mapper=pool.map if pool.name != "local" else None)
    echo(f"ingest: {ingested.summary_lines[0]}; rejects: {len(ingested.rejects)}")
    editions.snapshot(ingested.data_version, data_dir)  # the overview lists what changed since the last one
    stamps[str(data_dir)] = {"inputs": inputs, "data_version": ingested.data_version}
    return ingested.data_version


def processed_years(data_dir: Path) -> set[int]:
    """The years with data in ``processed/`` (read from the observations' year column only)."""
    import pandas as pd

    return set(
        pd.read_parquet(config.DataPaths.of(data_dir).processed / "observations.parquet", columns=["year"])[
            "year"
        ].astype(int)
    )
