"""Shared fixtures: a copy of the shipped raw data in a temporary data folder."""
from __future__ import annotations

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
