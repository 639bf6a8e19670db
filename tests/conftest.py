"""Shared fixtures: a copy of the shipped raw data in a temporary data folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kpi import config


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder holding a copy of the shipped ``data/raw`` (the project's own is not touched)."""
    shutil.copytree(config.DATA_DIR / "raw", tmp_path / "data" / "raw")
    return tmp_path / "data"


@pytest.fixture(scope="session")
def ingested(tmp_path_factory: pytest.TempPathFactory):
    """The shipped raw data ingested once into a temporary folder, for read-only assertions."""
    from kpi import ingest

    root = tmp_path_factory.mktemp("ingested") / "data"
    shutil.copytree(config.DATA_DIR / "raw", root / "raw")
    return ingest.run(root)


SETS = {  # the report sets the report tests read: both languages, the report's period and a shorter one
    "vi": {"lang": "vi"},
    "en": {"lang": "en"},
    "vi-2018": {"lang": "vi", "baseline": 2018, "target": 2021},
    "en-2018": {"lang": "en", "baseline": 2018, "target": 2021},
}


@pytest.fixture(scope="session")
def report_sets(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, dict[str, str]]:
    """The six real notebooks built four times (vi and en; 2012-2022 and 2018-2021) on a copy of the data.

    Returns, per set, each report's HTML by theme (``tea``, ``fish`` …); ``report_sets["_root"]``
    holds the workspace path. Under ``pytest -n`` the workers share one build: the first to ask
    makes it under a file lock and writes a manifest; the others wait for it and read it.
    """
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    root, manifest = shared / "report-sets", shared / "report-sets.json"
    with FileLock(str(shared / "report-sets.lock")):
        if not manifest.exists():
            _build_report_sets(root, manifest)
    paths = json.loads(manifest.read_text(encoding="utf-8"))
    out: dict = {"_root": root}
    for name, themes in paths.items():
        out[name] = {theme: Path(path).read_text(encoding="utf-8") for theme, path in themes.items()}
        out[name]["_paths"] = {theme: Path(path) for theme, path in themes.items()}
    return out


def _build_report_sets(root: Path, manifest: Path) -> None:
    from kpi import build

    shutil.copytree(config.DATA_DIR / "raw", root / "data" / "raw")
    paths = {}
    for name, options in SETS.items():
        result = build.build(data_dir=root / "data", reports_dir=root / "reports", jobs=2, **options)
        assert result.exit_code == 0, [r.message for r in result.failed]
        paths[name] = {r.theme: str(r.html_path) for r in result.notebooks}
    manifest.write_text(json.dumps(paths), encoding="utf-8")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs its own copy of the data ingests it: slow, left out of ``make quick``."""
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
