"""Sheet blocks (``kpi.cells.SheetBlock``) are cleaned as their cells are one by one.

A plain sheet's cells reach cleaning as one block (each column's context once, each row's once);
``kpi.clean`` cleans it without a tuple per cell.  Here SYNTHETIC blocks (fixed seed) of every
kind of cell -- plain numbers in and out of range, number text, ranges, bounds, units in the
cell, dates, missing marks, unknown areas and indicators, increases with and without their base
year, columns without a year, areas named twice -- give the same observations, rejects and
count of missing cells as the same cells cleaned one by one.
"""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from kpi import blocks as kpi_blocks
from kpi.cells import Cells, SheetBlock
from kpi.clean import clean_cells

RAWS = [12.0, 0.0, 3.5, 250.0, -2.0, 1e20, float("nan"), float("inf"), 7, "1.947", "74,03", "trên 150",
        "khoảng 15", "160-320", "-", "…", "n/a", "2 ha", "51,4 tạ", "1,947", "1e20", "12", "", None, " ",
        dt.date(2022, 5, 1), True]  # fmt: skip
AREAS = ["Sơn Bình", "Bản Hòn", "Xã Bản Hon", "Bản Xyz", "  KHUN HÁ  ", "Thị trấn", "106", "Nà Tăm"]
COLUMNS = [  # (indicator, unit as written, base year, note)
    ("tea.area", "ha", None, ""),
    ("tea.output_fresh", "tấn", None, ""),
    ("tea.output_fresh", "tạ", None, "printed in tạ"),
    ("tea.output_fresh.increase", "tấn", 2012, ""),
    ("crops.food_grain_output.increase", "tấn", None, ""),
    ("initiatives.council_share_graduate", "%", None, ""),
    ("initiatives.education_per_year", "", None, ""),
    ("livestock.farms_cattle_15plus", "cơ sở", None, ""),
    ("tea.unknown_indicator", "ha", None, ""),
    ("fish.tanks", "cái", None, ""),
]


GOOD = [COLUMNS[0], COLUMNS[1], ("tea.area_organic", "ha", None, ""), COLUMNS[5], COLUMNS[7]]  # in their units
KNOWN = ["Sơn Bình", "Bản Hòn", "  KHUN HÁ  ", "Thị trấn", "106", "Nà Tăm"]  # six areas, none named twice


def block(rng: random.Random, source: str, sheet: str, raws: list, form: bool = False) -> SheetBlock:
    """A block of any cells, or (``form``) of a form filled in as asked: known columns and areas,
    each area once, numbers in range, now and then an empty cell."""
    chosen = [GOOD[int(sheet[1:])]] if form else rng.sample(COLUMNS, rng.randint(1, 5))  # a form: its sheet's own
    year = 2022 if form else rng.choice([2022, 2022, 2026, None, "2022", 2022.0])
    columns = [
        (c, (source, f"{source}.xlsx!{sheet}!{chr(67 + c)}", ind, year, unit, base, note))
        for c, (ind, unit, base, note) in enumerate(chosen)
    ]
    made = SheetBlock(columns)
    areas = rng.sample(KNOWN, rng.randint(1, len(KNOWN))) if form else [rng.choice(AREAS) for _ in range(8)]
    for r, area in enumerate(areas[: rng.randint(0, 8)]):
        width = rng.randint(0, len(chosen) + 1)  # rows shorter than the table, as calamine gives them
        values = [rng.choice(raws) for _ in range(width)]
        if form:
            values = [rng.choice([float(rng.randint(0, 90)), rng.random() * 50, None, ""]) for _ in chosen]
        made.rows.append((values, str(r + 7), area, rng.choice(["", "", "estimate", "preliminary"])))
    return made


def same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN, at any depth of lists and dicts."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def cleaned(cells: Cells) -> tuple:
    """A cleaned file's columns as Python lists (Arrow text and numbers alike), rejects and missing cells."""
    out = clean_cells(cells)
    as_list = {name: v.to_pylist() if hasattr(v, "to_pylist") else list(v) for name, v in out.columns.items()}
    return (
        {name: [float(x) if name == "value" else x for x in v] for name, v in as_list.items()},
        out.reject_rows,
        out.missing,
    )


@pytest.mark.parametrize("pool", ["forms", "numbers", "everything"])
def test_blocks_are_cleaned_as_their_cells_one_by_one(pool, monkeypatch):
    rng = random.Random(31)
    raws = [r for r in RAWS if isinstance(r, float)] if pool == "numbers" else RAWS
    taken: list = []  # what each way gave: None when it handed the cells on
    way = kpi_blocks.cleaned
    monkeypatch.setattr(kpi_blocks, "cleaned", lambda *a: taken.append(way(*a)) or taken[-1])
    for trial in range(150):
        blocks = [block(rng, f"s{trial}", f"S{k}", raws, pool == "forms") for k in range(rng.randint(1, 3))]
        as_blocks, one_by_one = Cells(), Cells()
        for b in blocks:
            as_blocks.add_block(b)
            one_by_one.extend(list(b.cells()))
        assert [c for b in blocks for c in b.cells()] == [tuple(c.values()) for c in as_blocks]
        got = cleaned(as_blocks)
        want = cleaned(one_by_one)
        assert same(got, want), (trial, blocks[0].columns, [b.rows for b in blocks])
    assert sum(made is not None for made in taken) > 50  # most are cleaned as blocks, not handed back one by one


def test_what_is_looked_up_is_forgotten_past_a_bound(monkeypatch):
    """The column keys and (area, year) pairs kept from one file to the next are forgotten once
    there are ``LOOKUPS_KEPT`` of them: names typed in ever new ways do not grow a process."""
    from kpi import cellrules

    monkeypatch.setattr(cellrules, "LOOKUPS_KEPT", 5)
    cellrules.lookups()[1].clear()
    for k in range(12):
        made = SheetBlock([(0, ("s", "f.xlsx!S!C", "tea.area", 2022, "ha", None, ""))])
        made.rows.append(([1.0], "7", f"Bản Xyz {k}", ""))  # a name never seen before, each time
        cells = Cells()
        cells.add_block(made)
        assert cleaned(cells)[1][0]["field"] == "area"  # unknown: refused each time, as ever
        assert len(cellrules.lookups()[1]) <= 5
