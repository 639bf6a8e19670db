"""The ingest writes the same ``processed/`` as when the golden hashes were taken.

A guard for work on the ingest's speed: the shipped data and a SYNTHETIC bench set (two districts
× two years, fixed seed, 30 % of the figures typed as Vietnamese number text, written by
``benchmarks/synth.py``, whose workbooks are the same bytes on every run) are ingested and every
table, list, validation report and descriptor is hashed (SHA-256) and compared with
``tests/data/golden/processed.json``. The ingest stamp is left out: it holds the run's durations.
A change that is meant to alter the outputs takes new hashes with
``KPI_TAKE_GOLDEN=1 pytest tests/test_golden.py`` and says why in its commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from kpi import config, ingest

GOLDEN = Path(__file__).parent / "data" / "golden" / "processed.json"
LEFT_OUT = {"ingest-stamp.json", "observations.parquet"}  # durations; Parquet bytes vary with pyarrow's version

pytestmark = pytest.mark.slow


def hashes(processed: Path) -> dict[str, str]:
    return {
        p.relative_to(processed).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(processed.rglob("*"))
        if p.is_file() and p.name not in LEFT_OUT
    }


def bench_set(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sys.path.insert(0, str(config.PROJ_ROOT / "benchmarks"))
    try:
        import synth
    finally:
        sys.path.pop(0)
    monkeypatch.setenv("KPI_REFERENCE_DIR", str(synth.reference_folder(root / "reference", 2)))
    synth.write_forms(root / "data" / "raw", synth.districts(2), [2012, 2022], text_share=0.3)
    return root / "data"


def compare(name: str, got: dict[str, str]) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("KPI_TAKE_GOLDEN") == "1":
        golden[name] = got
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    want = golden.get(name)
    assert want is not None, f"no golden hashes for {name!r} in {GOLDEN}"
    differ = sorted(f for f in set(want) | set(got) if want.get(f) != got.get(f))
    assert not differ, f"{name}: processed/ differs from the golden hashes in {differ}"


def test_the_shipped_data_gives_the_golden_outputs(data_dir):
    ingest.run(data_dir)
    got = hashes(data_dir / "processed")
    assert "observations.csv" in got and "rejects.csv" in got
    compare("shipped", got)


def test_a_synthetic_bench_set_gives_the_golden_outputs(tmp_path, monkeypatch):
    data = bench_set(tmp_path, monkeypatch)
    result = ingest.run(data)
    assert len(result.observations) > 1000  # the set is read, not refused
    compare("synthetic-2x2-text30", hashes(data / "processed"))
