"""What a report reads, so that only the reports whose inputs changed are rebuilt.

``kpi ingest`` writes ``processed/fingerprints.json``: per indicator a hash of its
observations, findings and conflicts; per list a hash of its rows; and the sources table's.
A report notebook names what it shows (``ctx.values(["tea.area", …])``, ``ctx.story("tea")``);
``notebook_reads`` finds those names in its code, so a report's data inputs are the
fingerprints of its indicators only.  A livestock revision then rebuilds the livestock
report and the overview (which reads everything), not the tea report.  A notebook whose
reading cannot be told from its code (it calls something else, or asks for everything:
the overview's story, checks, edition changes) depends on the whole data version.

>>> reads = reads_of_source('ctx.story("tea")\\nctx.values(["fish.output"])\\nctx.list_table("varieties", {})')
>>> sorted(reads.indicators)[:2], sorted(reads.lists)
(['fish.output', 'tea.area'], ['varieties'])
>>> reads_of_source("ctx.checks()").indicators is None
True
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

FINGERPRINTS = "fingerprints.json"
CITED = ["source_id", "priority", "title", "file", "source", "section", "url", "accessed"]  # what reports cite
EVERYTHING = ("checks", "since_last_edition")  # calls that read every indicator
THEME_CALLS = ("story", "headline", "one_year")  # without a theme they read every indicator


@dataclass(frozen=True)
class Reads:
    indicators: frozenset[str] | None  # None: everything
    lists: frozenset[str] = frozenset()


def _catalogue() -> tuple[set[str], dict[str, set[str]]]:
    from kpi import reference

    cat = reference.indicator_themes()
    themes: dict[str, set[str]] = {}
    for ind, theme in cat.items():
        themes.setdefault(theme, set()).add(ind)
    return set(cat), themes


def reads_of_source(source: str) -> Reads:
    """The indicators and lists a notebook's code asks the report context for."""
    ids, themes = _catalogue()
    indicators: set[str] = set()
    lists: set[str] = set()
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    if not any(c.func.attr == "start" for c in calls) and "ctx." not in source:
        return Reads(None)  # not a report notebook of this library: it may read anything
    for call in calls:
        name = call.func.attr
        words = [
            n.value
            for arg in [*call.args, *(k.value for k in call.keywords)]
            for n in ast.walk(arg)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
        if name in EVERYTHING or (name in THEME_CALLS and not words):
            return Reads(None)
        if name == "list_table" and words:
            lists.add(words[0])
        indicators |= {w for w in words if w in ids}
        indicators |= {i for w in words if name in THEME_CALLS and w in themes for i in themes[w]}
    return Reads(frozenset(indicators), frozenset(lists))


@functools.lru_cache(maxsize=64)
def _reads_cached(path: Path, mtime_ns: int) -> Reads:
    nb = json.loads(path.read_text(encoding="utf-8"))
    source = "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code"
    )
    try:
        return reads_of_source(source)
    except SyntaxError:  # magics or broken code: assume it reads everything
        return Reads(None)


def notebook_reads(path: Path) -> Reads:
    return _reads_cached(path, path.stat().st_mtime_ns)


def _digest(hashes: pd.Series) -> str:
    return hashlib.sha256(hashes.sort_values().to_numpy().tobytes()).hexdigest()[:16]


def fingerprints(
    obs: pd.DataFrame,
    findings: pd.DataFrame,
    conflicts: pd.DataFrame,
    lists: dict[str, pd.DataFrame],
    sources: pd.DataFrame,
    obs_rows: np.ndarray | None = None,
) -> dict:
    """Per indicator the hash of its rows in observations, findings and conflicts; per list its rows'.

    ``obs_rows``: the observations' row hashes when already worked out (``row_hashes``).
    """
    import pandas as pd

    parts = []
    for table, known in ((obs, obs_rows), (findings, None), (conflicts, None)):
        if len(table):
            hashes = pd.util.hash_pandas_object(table, index=False).to_numpy() if known is None else known
            parts.append(pd.DataFrame({"indicator": table["indicator"].array, "h": hashes}))
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"indicator": [], "h": []})
    per_indicator = {ind: _digest(group["h"]) for ind, group in rows.groupby("indicator", sort=True)}
    per_list = {name: _digest(pd.util.hash_pandas_object(t, index=False)) for name, t in sorted(lists.items())}
    cited = sources[[c for c in CITED if c in sources]]  # not the checksums: a revised file is not a new source
    return {
        "indicators": per_indicator,
        "lists": per_list,
        "sources": _digest(pd.util.hash_pandas_object(cited, index=False)),
    }


def data_inputs(reads: Reads, processed: Path, data_version: str) -> str:
    """The part of the data a report depends on, as one hash (the data version when it reads everything)."""
    if reads.indicators is None:
        return data_version
    try:
        prints = json.loads((processed / FINGERPRINTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return data_version  # an older processed folder: be safe
    payload = {
        "indicators": {i: prints["indicators"].get(i, "") for i in sorted(reads.indicators)},
        "lists": {n: prints["lists"].get(n, "") for n in sorted(reads.lists)},
        "sources": prints["sources"],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def row_hashes(obs: pd.DataFrame) -> np.ndarray:
    """pandas' stable hash of each observation row (its columns of the schema, in their order).

    A row's hash depends on that row alone, so rows are hashed ``HASH_ROWS`` at a time: pandas
    turns text columns into Python strings to hash them, which for a nation's table at once
    would be the largest thing an ingest holds.
    """
    import numpy as np
    import pandas as pd

    from kpi.schema import OBSERVATIONS

    table = obs[OBSERVATIONS.columns]
    parts = [
        pd.util.hash_pandas_object(table.iloc[start : start + HASH_ROWS], index=False).to_numpy()
        for start in range(0, len(table), HASH_ROWS)
    ]
    return np.concatenate(parts) if parts else np.empty(0, dtype="uint64")


HASH_ROWS = 100_000


def data_version(obs: pd.DataFrame, rows: np.ndarray | None = None) -> str:
    """A short hash of the observations, whatever their row order: the data version printed on every report.

    Rows are hashed one by one (``row_hashes``, or ``rows`` when already worked out) and the
    sorted row hashes are digested, so a nation-sized table is never turned into one big string.
    """
    import numpy as np

    rows = row_hashes(obs) if rows is None else rows
    return hashlib.sha256(np.sort(rows).tobytes()).hexdigest()[:12]
