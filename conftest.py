"""Doctests of the library run against a freshly ingested copy of the shipped data."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session", autouse=True)
def _doctest_data(doctest_namespace, tmp_path_factory):
    from kpi import config, ingest

    root = tmp_path_factory.mktemp("doctest") / "data"
    shutil.copytree(config.DATA_DIR / "raw", root / "raw")
    ingest.run(root)
    doctest_namespace["data_dir"] = root
