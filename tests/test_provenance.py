"""Every raw file is sourced: a provenance record beside it, a checksum that still matches."""

import csv

import pytest
import yaml

from kpi import config, reference

RAW = config.DATA_DIR / "raw"
RAW_FILES = sorted(p for p in RAW.iterdir() if not p.name.endswith(".meta.yml"))


@pytest.mark.parametrize("path", RAW_FILES, ids=[p.name for p in RAW_FILES])
def test_raw_file_has_a_complete_provenance_record(path):
    meta = yaml.safe_load(reference.meta_path_of(path).read_text(encoding="utf-8"))
    assert set(reference.META_FIELDS) <= set(meta), "provenance record misses fields"
    assert meta["source_id"] == path.name.rsplit(".", 1)[0]
    assert meta.get("section") or meta.get("url"), "a provenance record names the passage or URL"


@pytest.mark.parametrize("path", RAW_FILES, ids=[p.name for p in RAW_FILES])
def test_raw_file_matches_its_checksum(path):
    meta = yaml.safe_load(reference.meta_path_of(path).read_text(encoding="utf-8"))
    assert reference.sha256(path) == meta["sha256"], f"{path.name} changed since its provenance record was written"


@pytest.mark.parametrize("path", [p for p in RAW_FILES if p.suffix == ".csv"], ids=lambda p: p.name)
def test_every_csv_line_cites_its_passage(path):
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cite = "trich_dan"
    assert rows and all(r[cite].strip() for r in rows), f"a line of {path.name} has no {cite}"
    if path.name == "public_facts.csv":
        assert all(r["nguon_url"].startswith("http") for r in rows)


def test_checksum_mismatch_stops_ingest(data_dir):
    from kpi import ingest
    from kpi.errors import SourceError

    target = data_dir / "raw" / "bc24_new_rural.csv"
    target.write_text(target.read_text(encoding="utf-8").replace("8/12", "9/12"), encoding="utf-8")
    with pytest.raises(SourceError, match=r"bc24_new_rural\.csv: sha256 is"):
        ingest.run(data_dir)
