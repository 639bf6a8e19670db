"""Reference data (data, not code): indicator catalogue, gazetteer, units, layouts, source records.

All tables live in ``data/reference/`` (see ``kpi.config.REFERENCE_DIR``); each raw file's
provenance record (``*.meta.yml``) lives beside it in ``data/raw/``.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from kpi import config
from kpi.errors import ReferenceDataError, UnitMismatch
from kpi.text import fold, nfc

if TYPE_CHECKING:
    import pandas as pd

ERA_BOUNDARY_YEAR = (
    2025  # Res. 1670/NQ-UBTVQH15: new commune units from 1 July 2025; yearly figures from 2025 on use them
)
META_FIELDS = ("source_id", "title", "layout", "priority", "source", "accessed", "transcription", "sha256")


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ten times faster


def read_yaml(text: str) -> object:
    """YAML as ``yaml.safe_load`` reads it (the C loader when PyYAML has it)."""
    return yaml.load(text, Loader=YAML_LOADER)


def per_folder(maxsize: int = 64):
    """``functools.lru_cache`` keyed by the reference folder too: a table read once per folder, and
    read again when ``KPI_REFERENCE_DIR`` names another one."""

    def wrap(fn):
        cached = functools.lru_cache(maxsize)(lambda folder, *args: fn(*args))

        @functools.wraps(fn)
        def call(*args):
            return cached(os.environ.get("KPI_REFERENCE_DIR"), *args)  # the folder as the environment names it

        call.cache_clear = cached.cache_clear
        return call

    return wrap


def _read_csv(name: str) -> pd.DataFrame:
    import pandas as pd

    path = config.reference_dir() / name
    if not path.exists():
        raise ReferenceDataError(f"reference table {path.name} is missing from {path.parent}")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@per_folder(4)
def indicator_themes() -> dict[str, str]:
    """Each indicator id of the catalogue and its theme, read without pandas (what a rebuild checks)."""
    import csv

    path = config.reference_dir() / "indicators.csv"
    if not path.exists():
        raise ReferenceDataError(f"reference table {path.name} is missing from {path.parent}")
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["id"]: row["theme"] for row in csv.DictReader(fh)}


@per_folder(4)
def catalogue() -> pd.DataFrame:
    """The indicator catalogue, indexed by indicator id."""
    import pandas as pd

    table = _read_csv("indicators.csv")
    assert table["id"].is_unique, "indicator ids in indicators.csv must be unique"
    table["factor"] = pd.to_numeric(table["factor"].replace("", None))
    return table.set_index("id", drop=False)


def indicator_units() -> dict[str, str]:
    """Each indicator of the catalogue and its unit (cleaning asks for it once per file), made again
    whenever ``catalogue`` gives another table (another folder, or its cache cleared)."""
    cat = catalogue()
    if _units[0] is not cat:
        _units[:] = [cat, cat["unit"].to_dict()]
    return _units[1]


_units: list = [None, {}]  # (the catalogue, its units) of indicator_units


def era_of_year(year: int) -> str:
    """Which set of administrative units a year's figures are reported in.

    >>> era_of_year(2022), era_of_year(2025)
    ('pre2025', 'post2025')
    """
    return "post2025" if year >= ERA_BOUNDARY_YEAR else "pre2025"


@dataclass(frozen=True)
class AreaMatch:
    code: str
    name: str


class Gazetteer:
    """Areas with codes and official names, and the aliases a source may spell them by.

    Matching is case-, space- and diacritic-insensitive (``Bản Hòn`` → Bản Hon) but exact
    otherwise: an unknown name raises ``KeyError`` with the closest alias suggested.
    Codes were reused in 2025 (03390 was Thị trấn Tam Đường, then Xã Bình Lư), so an area
    is looked up with the year its figure refers to.
    """

    def __init__(self, areas: pd.DataFrame, aliases: pd.DataFrame):
        self.areas = areas
        self._aliases: dict[tuple[str, str], str] = {}
        for alias, code, era in zip(*(aliases[c].tolist() for c in ("alias", "code", "era"))):
            self._aliases[(fold(alias), era)] = code
        codes, names, eras = (areas[c].tolist() for c in ("code", "name_vi", "era"))  # lists: quick to walk
        for code, name, era in zip(codes, names, eras):
            self._aliases.setdefault((fold(name), era), code)
            self._aliases.setdefault((fold(code), era), code)
        self._names = dict(zip(zip(codes, eras), names))

    def _eras(self, year: int | None) -> tuple[str, ...]:
        if year is None:
            return ("pre2025", "all", "former", "post2025")
        return (era_of_year(year), "all", "former")

    def match(self, name: str, year: int | None = None) -> AreaMatch:
        key = fold(str(name))
        for era in self._eras(year):
            code = self._aliases.get((key, era))
            if code is not None:
                return AreaMatch(code, self._names.get((code, era), self._names.get((code, "all"), "")))
        known = sorted({a for (a, era) in self._aliases if era in self._eras(year)})
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; closest known name: {self.display_alias(close[0])!r}" if close else ""
        raise KeyError(f"unknown area {nfc(str(name))!r}{hint}")

    def display_alias(self, folded: str) -> str:
        for (alias_folded, era), code in self._aliases.items():
            if alias_folded == folded:
                return self._names.get((code, era), folded)
        return folded

    def name(self, code: str, year: int | None = None) -> str:
        for era in self._eras(year):
            if (code, era) in self._names:
                return self._names[(code, era)]
        raise KeyError(f"unknown area code {code!r}")

    def known_code(self, code: str, year: int | None = None) -> bool:
        return any((code, era) in self._names for era in self._eras(year))

    def units_of_year(self, year: int, parent: str | None = None) -> pd.DataFrame:
        """Administrative units in force in ``year`` (communes, township, wards), for templates."""
        era = era_of_year(year)
        table = self.areas[(self.areas["era"] == era) & self.areas["level"].isin(["commune", "township", "ward"])]
        if parent is not None:
            table = table[table["parent"] == parent]
        return table


@per_folder(4)
def reused_codes() -> frozenset[str]:
    """Codes that name one area before 1 July 2025 and another after (03390: the township, then Xã Bình Lư)."""
    areas = gazetteer().areas
    before = dict(zip(areas.loc[areas["era"] == "pre2025", "code"], areas.loc[areas["era"] == "pre2025", "name_vi"]))
    after = areas[areas["era"] == "post2025"]
    return frozenset(c for c, n in zip(after["code"], after["name_vi"]) if c in before and before[c] != n)


@per_folder(4)
def gazetteer() -> Gazetteer:
    return Gazetteer(_read_csv("areas.csv"), _read_csv("area_aliases.csv"))


@per_folder(4)
def area_parents() -> dict[tuple[str, str], str]:
    """(area code, era of a year: pre2025 or post2025) → the area's parent ('' for none); an area
    of the era ``all`` or ``former`` is in both, after the areas of the era itself.  Shared."""
    areas = gazetteer().areas
    rows = list(zip(*(areas[c].tolist() for c in ("code", "era", "parent"))))
    parents: dict[tuple[str, str], str] = {}
    for code, era, parent in rows:
        parents.setdefault((code, era), parent if isinstance(parent, str) else "")
    for code, era, parent in rows:
        if era in ("all", "former"):
            for each in ("pre2025", "post2025"):
                parents.setdefault((code, each), parent if isinstance(parent, str) else "")
    return parents


@per_folder(8)
def district_units(eras: tuple[str, ...]) -> tuple[pd.DataFrame, dict[tuple[str, str], str] | None]:
    """The units (communes, township, wards) of each district in force in each of ``eras``: a table
    of era, district, area_code and expected (how many units the district has in that era), and
    (era, unit) → district, None when a unit has two districts in one era.  Shared: not to be changed."""
    import pandas as pd

    areas = gazetteer().areas
    districts = set(areas.loc[areas["level"] == "district", "code"])
    tables = []
    for era in eras:
        year = ERA_BOUNDARY_YEAR if era == "post2025" else ERA_BOUNDARY_YEAR - 1
        if era_of_year(year) != era:
            raise ValueError(f"unknown era {era!r}: expected 'pre2025' or 'post2025'")
        units = gazetteer().units_of_year(year)[["parent", "code"]].drop_duplicates()
        units = units[units["parent"].isin(districts)]
        tables.append(
            pd.DataFrame(
                {
                    "era": era,
                    "district": units["parent"],
                    "area_code": units["code"],
                    "expected": units.groupby("parent")["code"].transform("size"),
                }
            )
        )
    links = pd.concat(tables) if tables else pd.DataFrame(columns=["era", "district", "area_code", "expected"])
    pairs = list(zip(links["era"].tolist(), links["area_code"].tolist()))
    of_unit = dict(zip(pairs, links["district"].tolist()))
    return links, (of_unit if len(of_unit) == len(pairs) else None)


@per_folder(4)
def units() -> pd.DataFrame:
    """Unit aliases → canonical unit code, dimension and factor to the dimension's base."""
    table = _read_csv("units.csv")
    table["to_base"] = table["to_base"].astype(float)
    table["key"] = table["alias"].map(fold)
    return table.drop_duplicates("key").set_index("key")


@per_folder(1024)
def unit_of(text: str) -> str | None:
    """Canonical unit code of a unit as written, or None when unknown.

    >>> unit_of("tấn"), unit_of("tạ/ha"), unit_of("m³"), unit_of("sào")
    ('t', 't/ha', 'm3', None)
    """
    key = fold(text)
    table = units()
    return table.loc[key, "unit"] if key in table.index else None


@per_folder(1024)
def conversion_factor(from_text: str, to_unit: str) -> float:
    """Factor turning a value in unit ``from_text`` (as written) into ``to_unit`` (canonical).

    >>> conversion_factor("tạ/ha", "t/ha"), conversion_factor("kg", "t"), conversion_factor("tấn", "t")
    (0.1, 0.001, 1.0)
    >>> conversion_factor("m²", "m3")
    Traceback (most recent call last):
    ...
    kpi.errors.UnitMismatch: unit 'm²' (m2, area) cannot be converted to m3 (volume)
    """
    table = units()
    key, to_key = fold(from_text), fold(to_unit)
    if key not in table.index:
        raise UnitMismatch(f"unit {from_text!r} is not in the unit table")
    if to_key not in table.index:
        raise UnitMismatch(f"unit {to_unit!r} is not in the unit table")
    src, dst = table.loc[key], table.loc[to_key]
    if src["dimension"] != dst["dimension"]:
        raise UnitMismatch(
            f"unit {from_text!r} ({src['unit']}, {src['dimension']}) cannot be converted to "
            f"{to_unit} ({dst['dimension']})"
        )
    return float(src["to_base"]) / float(dst["to_base"])


def collectable(cat: pd.DataFrame) -> pd.DataFrame:
    """Indicators an office types in (not ratios computed from parts, printed checks or increases)."""
    return cat[(cat["numerator"] == "") & (cat["printed_of"] == "") & (cat["increase_of"] == "")]


def column_header(row: pd.Series) -> str:
    """Header of an indicator's column in the yearly form: Vietnamese name, then English."""
    return f"{row['name_vi']} - {row['name_en']}"


@per_folder(4)
def form_columns() -> dict[str, tuple[tuple[str, str], ...]]:
    """Per theme, the (header, indicator) of every column of the yearly form (``kpi.layouts``):
    one per collectable indicator of the catalogue, so a new indicator is a new column."""
    cat = catalogue()
    collect = collectable(cat)
    return {
        theme: tuple(
            (f"{vi} - {en}", ind) for vi, en, ind in zip(rows["name_vi"], rows["name_en"], rows["id"], strict=True)
        )
        for theme, rows in collect.groupby("theme", sort=False)
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceRecord:
    """A raw file and its provenance record (``<file>.meta.yml`` beside it)."""

    path: Path
    meta: dict

    @property
    def source_id(self) -> str:
        return self.meta["source_id"]

    @property
    def priority(self) -> int:
        return int(self.meta["priority"])


def meta_path_of(raw_file: Path) -> Path:
    return raw_file.with_name(raw_file.name + ".meta.yml")


def _link_problem(path: Path, raw_dir: Path) -> str | None:
    """Why a raw file that is a link may not be read: it leads out of the raw folder, or nowhere.

    The raw folder itself may be a link (to a shared drive, say); what counts is that every
    file in it resolves inside it, so a link cannot make the run read ``/etc/passwd`` or a
    file of another project.
    """
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        return "is a broken link (what it points to does not exist): refused; copy the file into data/raw"
    except (OSError, RuntimeError) as exc:  # a loop of links
        return f"is a link that cannot be followed ({exc.__class__.__name__}): refused; copy the file into data/raw"
    if not target.is_relative_to(raw_dir.resolve()):
        return (
            f"is a link to {target}, outside the raw data folder: refused; copy the file into data/raw "
            "instead of linking it"
        )
    return None


def _raw_entries(raw_dir: Path, problems: list[str]) -> list[Path]:
    """The raw files of a folder (not provenance records, hidden or Office lock files, or folders);
    links out of the folder and things that are not files are problems, not skipped."""
    paths = []
    for path in sorted(raw_dir.iterdir()):
        if path.name.startswith((".", "~$")) or path.name.endswith(".meta.yml"):
            continue
        if path.is_dir() and not path.is_symlink():
            continue
        refused = _link_problem(path, raw_dir)
        if refused is None and not path.is_file():
            refused = "is not a regular file (a folder link, a pipe or a device): refused"
        if refused:
            problems.append(f"{path.name}: {refused}")
            continue
        paths.append(path)
    return paths


def _read_meta(meta_file: Path, raw_dir: Path) -> tuple[dict | None, str | None]:
    """A provenance record's fields, or the one-line reason it cannot be used."""
    refused = _link_problem(meta_file, raw_dir)
    if refused:
        return None, f"{meta_file.name}: {refused}"
    try:
        meta = read_yaml(meta_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return None, f"{meta_file.name}: not valid YAML ({exc.__class__.__name__})"
    except UnicodeDecodeError:
        return None, f"{meta_file.name}: not UTF-8 text; save it as UTF-8"
    except OSError as exc:
        return None, f"{meta_file.name}: cannot be read ({exc.strerror or exc})"
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return None, f"{meta_file.name}: expected fields (source_id: ..., title: ...), got a {type(meta).__name__}"
    missing = [f for f in META_FIELDS if f not in meta]
    if missing:
        return None, f"{meta_file.name}: missing field(s) {', '.join(missing)}"
    return meta, None


def source_records(raw_dir: Path) -> list[SourceRecord]:
    """Every raw file with its provenance record, sorted by name; a file without one is an error,
    and so is a link leading out of the raw folder (see ``_link_problem``)."""
    if not raw_dir.is_dir():
        raise ReferenceDataError(f"raw data folder not found: {raw_dir}")
    records, problems = [], []
    for path in _raw_entries(raw_dir, problems):
        meta_file = meta_path_of(path)
        if not meta_file.exists():
            problems.append(f"{path.name}: no provenance record {meta_file.name} beside it")
            continue
        meta, problem = _read_meta(meta_file, raw_dir)
        if problem:
            problems.append(problem)
            continue
        records.append(SourceRecord(path, meta))
    for meta_file in sorted(raw_dir.glob("*.meta.yml")):
        if not meta_file.with_name(meta_file.name[: -len(".meta.yml")]).exists():
            problems.append(f"{meta_file.name}: provenance record without its raw file")
    if problems:
        from kpi.errors import SourceError

        raise SourceError(str(raw_dir), problems)
    return records
