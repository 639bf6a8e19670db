"""Editions: each build keeps the processed data it used, so the next one can say what changed.

``snapshot`` copies ``processed/observations.parquet`` to ``editions/<data version>.parquet``
(beside ``processed/``, once per data version) and appends it to ``editions/index.csv``;
``changes_since_previous`` lists the values that are new, revised (old and new value) or
gone between the previous edition and the current one; a preliminary figure replaced by the
official one is a revision that says so (``revision``).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from kpi.config import DataPaths
from kpi.schema import EDITION_CHANGES, EDITION_INDEX, OBSERVATIONS
from kpi.write import atomic_write


def folder(data_dir: str | Path | None = None) -> Path:
    return DataPaths.of(data_dir).root / "editions"


def history(data_dir: str | Path | None = None) -> pd.DataFrame:
    path = folder(data_dir) / "index.csv"
    if not path.exists():
        return pd.DataFrame(columns=EDITION_INDEX.columns)
    return pd.read_csv(path, dtype=str)


def snapshot(data_version: str, data_dir: str | Path | None = None) -> Path:
    """Keep a copy of the current observations as edition ``data_version`` (idempotent)."""
    paths = DataPaths.of(data_dir)
    target = folder(data_dir) / f"{data_version}.parquet"
    if not target.exists():
        atomic_write(target, lambda tmp: shutil.copyfile(paths.processed / "observations.parquet", tmp))
    table = history(data_dir)
    if table.empty or table["data_version"].iloc[-1] != data_version:
        row = pd.DataFrame(
            [{"data_version": data_version, "built_at": datetime.now(UTC).isoformat(timespec="seconds")}]
        )
        table = pd.concat([table, row], ignore_index=True)
        atomic_write(folder(data_dir) / "index.csv", lambda tmp: table.to_csv(tmp, index=False))
    return target


def previous_version(current: str, data_dir: str | Path | None = None) -> str | None:
    """The last edition before ``current`` with different data, or None for a first edition."""
    versions = [v for v in history(data_dir)["data_version"] if v != current]
    return versions[-1] if versions else None


def diff(old: pd.DataFrame, new: pd.DataFrame, tolerance: float = 1e-9) -> pd.DataFrame:
    """Values new, revised or gone between two observation tables (same key, different value).

    A ``preliminary`` value (sơ bộ) replaced by the official ``reported`` one is ``revised`` even
    when the figure stayed the same, and its ``revision`` says which: ``preliminary_confirmed``
    (the official figure is the preliminary one) or ``preliminary_replaced`` (it differs), so a
    report can say "preliminary figure replaced by the official one".  Other rows have no revision.

    >>> old = pd.DataFrame({"indicator": ["a", "b"], "area_code": "106", "year": 2023, "source_id": "s",
    ...     "value": [5.0, 7.0], "status": "preliminary", "unit": "t", "source_ref": "f"})
    >>> new = old.assign(value=[5.0, 8.0], status="reported")
    >>> diff(old, new)[["indicator", "change", "revision"]].values.tolist()
    [['a', 'revised', 'preliminary_confirmed'], ['b', 'revised', 'preliminary_replaced']]
    """
    merged = old[list(OBSERVATIONS.key) + ["value", "status", "unit", "source_ref"]].merge(
        new[list(OBSERVATIONS.key) + ["value", "status", "unit", "source_ref"]],
        on=list(OBSERVATIONS.key),
        how="outer",
        suffixes=("_old", "_new"),
        indicator=True,
    )
    change = merged["_merge"].map({"left_only": "gone", "right_only": "new", "both": "same"}).astype(str)
    moved = (merged["value_old"] - merged["value_new"]).abs() > tolerance
    official = (merged["status_old"] == "preliminary") & (merged["status_new"] == "reported") & (change == "same")
    change = change.where(~((change == "same") & (moved | official)), "revised")
    revision = official.map({True: "preliminary_confirmed", False: ""}).where(
        ~(official & moved), "preliminary_replaced"
    )
    merged = merged.assign(change=change, revision=revision)[lambda d: d["change"] != "same"]
    return pd.DataFrame(
        {
            **{k: merged[k] for k in list(OBSERVATIONS.key)},
            "unit": merged["unit_new"].fillna(merged["unit_old"]),
            "change": merged["change"],
            "old_value": merged["value_old"],
            "new_value": merged["value_new"],
            "old_status": merged["status_old"],
            "new_status": merged["status_new"],
            "source_ref": merged["source_ref_new"].fillna(merged["source_ref_old"]),
            "revision": merged["revision"],
        },
        columns=EDITION_CHANGES.columns,
    ).sort_values(["change"] + list(OBSERVATIONS.key), ignore_index=True)


def changes_since_previous(
    current: pd.DataFrame, data_version: str, data_dir: str | Path | None = None
) -> tuple[str | None, pd.DataFrame]:
    """(previous version, differences) for the current observations; (None, empty) on a first edition."""
    prev = previous_version(data_version, data_dir)
    if prev is None:
        return None, pd.DataFrame(columns=EDITION_CHANGES.columns)
    old = pd.read_parquet(folder(data_dir) / f"{prev}.parquet")
    return prev, diff(old, current)
