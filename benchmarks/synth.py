"""SYNTHETIC workbooks for the benchmarks: the real yearly form, filled with seeded numbers, at any size.

Everything written here is synthetic (fixed seed) and says so: in the form itself (a red note on
every sheet, the workbook's subject), in its provenance record and in the names of the synthetic
areas.  Nothing is written under ``data/``: the caller passes a work folder (``benchmarks/_work/``).

The shipped gazetteer knows one district, Tam Đường (106), and its 13 units.  A province or a
nation needs more: ``reference_folder`` copies ``data/reference/`` and appends synthetic districts
(codes ``9001``…, four digits, so they never collide with a real three-digit district code) with
13 synthetic communes each (``900101``…, six digits); the package reads it through
``KPI_REFERENCE_DIR``.  Tam Đường keeps its real units.

Writing a thousand workbooks with openpyxl would take longer than ingesting them, so
``write_forms`` writes the form once per year with ``kpi.template`` (openpyxl, the real layout)
and then, per district, rewrites the sheet XML of that form: the unit codes and names, the status
column and the figures.  The result is the same workbook an office would fill in for that district.
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from kpi import layouts, reference
from kpi.template import FIRST_ROW, write_template
from kpi.text import format_number

SEED = 20240601
SYNTHETIC = "DỮ LIỆU GIẢ LẬP ĐỂ ĐO HIỆU NĂNG - SYNTHETIC BENCHMARK DATA"
REAL_DISTRICT = "106"  # Tam Đường keeps its real units; the other districts are synthetic
UNITS_PER_DISTRICT = 13  # Tam Đường's count: the synthetic districts reuse its form's rows
STATUS_OFFICIAL = "Chính thức - Official"
SYNTHETIC_PARENT = "99"  # a synthetic parent for the synthetic districts outside Lai Châu
# A text cell is typed as an office types it: mostly Vietnamese number text, some with a qualifier, some "-".
TEXT_FORMS = (("{}", 0.7), ("trên {}", 0.1), ("khoảng {}", 0.1), ("-", 0.1))


def number_text(value: float, rng: random.Random) -> str:
    """A figure as Vietnamese number text (``1.947``, ``74,03``, ``trên 150``, ``khoảng 15``, ``-``).

    >>> number_text(1947, random.Random(1)), number_text(74.03, random.Random(1))
    ('1.947', '74,03')
    """
    form = rng.choices([f for f, _ in TEXT_FORMS], weights=[w for _, w in TEXT_FORMS])[0]
    return form.format(format_number(value, "vi"))


@dataclass(frozen=True)
class District:
    code: str
    name: str
    units: tuple[tuple[str, str], ...]  # (code, name) of its communes; empty: the real units of the form


def district_code(n: int) -> str:
    return f"9{n:03d}"


def districts(count: int) -> list[District]:
    """Tam Đường, then ``count - 1`` synthetic districts (the first seven in Lai Châu: a province of 8)."""
    out = [District(REAL_DISTRICT, "Huyện Tam Đường", ())]
    for n in range(1, count):
        code = district_code(n)
        units = tuple((f"{code}{c:02d}", f"Xã Giả lập {n:03d}-{c:02d}") for c in range(1, UNITS_PER_DISTRICT + 1))
        out.append(District(code, f"Huyện Giả lập {n:03d}", units))
    return out


def reference_folder(target: Path, count: int) -> Path:
    """``data/reference/`` with ``count - 1`` synthetic districts and their communes appended."""
    from kpi import config

    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(config.REFERENCE_DIR, target)
    note = "SYNTHETIC: benchmark data, not a real area"
    areas = [
        {
            "code": SYNTHETIC_PARENT,
            "name_vi": "Tỉnh Giả lập",
            "name_en": "Synthetic province (benchmark)",
            "level": "province",
            "parent": "",
            "era": "all",
            "members": "",
            "note": note,
        }
    ]
    aliases = []
    for n, d in enumerate(districts(count)[1:], start=1):
        parent = "12" if n < 8 else SYNTHETIC_PARENT
        areas.append(
            {
                "code": d.code,
                "name_vi": d.name,
                "name_en": f"Synthetic district {n:03d}",
                "level": "district",
                "parent": parent,
                "era": "pre2025",
                "members": "",
                "note": note,
            }
        )
        aliases.append({"alias": f"Giả lập {n:03d}", "code": d.code, "era": "pre2025"})
        for code, name in d.units:
            areas.append(
                {
                    "code": code,
                    "name_vi": name,
                    "name_en": f"Synthetic commune {code}",
                    "level": "commune",
                    "parent": d.code,
                    "era": "pre2025",
                    "members": "",
                    "note": note,
                }
            )
    for name, rows in (("areas.csv", areas), ("area_aliases.csv", aliases)):
        table = pd.read_csv(target / name, dtype=str, keep_default_na=False)
        pd.concat([table, pd.DataFrame(rows, columns=table.columns)]).to_csv(target / name, index=False)
    return target


CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(?: t="n")? />')
TEXT_CELL = re.compile(r'<c r="([AB])(\d+)"([^>]*?) t="inlineStr"><is><t>([^<]*)</t></is></c>')


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


FIXED_TIME = b"2023-01-01T00:00:00Z"  # every synthetic workbook says it was made then: reproducible bytes
FIXED_ZIP_TIME = (2023, 1, 1, 0, 0, 0)


class FormFiller:
    """Fills the form of one year for any district by rewriting its sheet XML (seeded numbers)."""

    def __init__(self, year: int, work: Path, text_share: float = 0.0):
        self.year = year
        self.text_share = text_share  # share of the figures typed as text rather than as numbers
        self.form = write_template(year, work / f"form_{year}.xlsx", synthetic_note=SYNTHETIC)
        with zipfile.ZipFile(self.form) as z:
            self.entries = {name: z.read(name) for name in z.namelist()}
        core = self.entries.get("docProps/core.xml")
        if core is not None:  # the template's own timestamps: fixed, so the same seed gives the same bytes
            self.entries["docProps/core.xml"] = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", FIXED_TIME, core)
        spec = layouts.load("kpi_template")
        cat = reference.catalogue()
        workbook = self.entries["xl/workbook.xml"].decode()
        names = re.findall(r'<sheet [^>]*name="([^"]+)"', workbook)
        self.sheets = {}  # zip entry -> {column letter: (unit, additive)}
        for number, name in enumerate(names, start=1):
            sheet = next((s for s in spec.sheets if s.sheet == name), None)
            if sheet is None:
                continue
            columns = {}
            for offset, column in enumerate(sheet.columns):
                letter = _letter(4 + offset)
                columns[letter] = (
                    cat.loc[column.indicator, "unit"],
                    cat.loc[column.indicator, "aggregation"] == "sum",
                )
            self.sheets[f"xl/worksheets/sheet{number}.xml"] = columns

    def write(self, district: District, out: Path, rng: random.Random) -> Path:
        renames = {}
        if district.units:  # the form's rows are Tam Đường's: give them the synthetic district's codes and names
            real = self._real_rows()
            renames = {REAL_DISTRICT: (district.code, district.name)}
            renames.update(dict(zip(real, district.units)))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for name, data in self.entries.items():
                filled = (
                    self._fill(data.decode(), self.sheets[name], renames, rng).encode() if name in self.sheets else data
                )
                z.writestr(
                    zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME), filled, zipfile.ZIP_DEFLATED, compresslevel=1
                )
        return out

    def _real_rows(self) -> list[str]:
        sheet = next(iter(self.sheets))
        codes = [
            m.group(4)
            for m in TEXT_CELL.finditer(self.entries[sheet].decode())
            if m.group(1) == "A" and int(m.group(2)) >= FIRST_ROW
        ]
        return [c for c in codes if c != REAL_DISTRICT][:UNITS_PER_DISTRICT]

    def _fill(self, xml: str, columns: dict, renames: dict, rng: random.Random) -> str:
        rows = sorted(
            {int(m.group(2)) for m in TEXT_CELL.finditer(xml) if m.group(1) == "A" and int(m.group(2)) >= FIRST_ROW}
        )
        codes = {int(m.group(2)): m.group(4) for m in TEXT_CELL.finditer(xml) if m.group(1) == "A"}
        total_row = next((r for r in rows if codes.get(r) == REAL_DISTRICT), None)
        values: dict[tuple[str, int], float] = {}
        for letter, (unit, additive) in columns.items():
            parts = {}
            for r in rows:
                if r == total_row:
                    continue
                parts[r] = round(rng.uniform(0, 100), 2) if unit in ("%", "t/ha", "ha") else rng.randint(0, 60)
                values[(letter, r)] = parts[r]
            if total_row is not None:
                values[(letter, total_row)] = round(sum(parts.values()), 2) if additive else rng.randint(1, 99)

        def cell(m: re.Match) -> str:
            letter, row, attrs = m.group(1), int(m.group(2)), m.group(3)
            if row not in rows:
                return m.group(0)
            if letter == "C":
                return f'<c r="C{row}"{attrs} t="inlineStr"><is><t>{STATUS_OFFICIAL}</t></is></c>'
            if (letter, row) in values:
                value = values[(letter, row)]
                if self.text_share and rng.random() < self.text_share:
                    text = _xml_text(number_text(value, rng))
                    return f'<c r="{letter}{row}"{attrs} t="inlineStr"><is><t>{text}</t></is></c>'
                return f'<c r="{letter}{row}"{attrs} t="n"><v>{value}</v></c>'
            return m.group(0)

        def text(m: re.Match) -> str:
            letter, row, attrs, value = m.groups()
            code = codes.get(int(row))
            if int(row) in rows and code in renames:
                value = renames[code][0 if letter == "A" else 1]
            return f'<c r="{letter}{row}"{attrs} t="inlineStr"><is><t>{_xml_text(value)}</t></is></c>'

        return CELL.sub(cell, TEXT_CELL.sub(text, xml))


def _letter(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def write_forms(
    raw: Path, district_list: list[District], years: list[int], seed: int = SEED, text_share: float = 0.0
) -> list[Path]:
    """One filled form per (district, year) in ``raw`` with its provenance record; returns the workbooks.

    ``text_share`` of the figures are typed as Vietnamese number text (``number_text``).
    """
    raw.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for year in years:
            filler = FormFiller(year, Path(tmp), text_share)
            for d in district_list:
                path = filler.write(d, raw / f"synthetic_{d.code}_{year}.xlsx", rng)
                meta = {
                    "source_id": path.stem,
                    "title": f"{SYNTHETIC}: {d.code} {year}",
                    "layout": "kpi_template",
                    "priority": 1,
                    "source": SYNTHETIC,
                    "section": "all sheets",
                    "accessed": "2024-06-01",
                    "transcription": f"generated by benchmarks/synth.py with seed {seed}"
                    + (f", {text_share:.0%} of the figures as text" if text_share else "")
                    + "; not real figures",
                    "sha256": reference.sha256(path),
                }
                reference.meta_path_of(path).write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
                written.append(path)
    return written
