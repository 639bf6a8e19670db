"""Layouts are typed and checked when read: a layout that lacks what its kind needs says which key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi import layouts
from kpi.errors import ReferenceDataError


def test_every_shipped_layout_reads_as_its_kind():
    found = {layout.id: layout for layout in layouts.every()}
    assert found["bc24_annex"].kind == "workbook" and found["bc24_annex"].total_area == "106"
    form = found["kpi_template"]
    assert [s.sheet for s in form.sheets][:2] == ["1_TrongTrot", "2_Che"]
    assert all(s.columns for s in form.sheets)  # a form's columns come from the catalogue
    assert form.sheets[0].status is not None and form.sheets[0].first_body_row == 5
    assert found["ocop_products"].aggregates[0].indicator == "ocop.products"


@pytest.mark.parametrize(
    "raw, named",
    [
        pytest.param({"kind": "sheet"}, ["'kind'", "workbook"], id="kind"),
        pytest.param({"kind": "workbook", "sheets": []}, ["'sheets'"], id="no-sheets"),
        pytest.param(
            {"kind": "workbook", "sheets": [{"sheet": "A", "theme": "tea"}]},
            ["sheet 1 (A)", "'header_rows'"],
            id="sheet-key",
        ),
        pytest.param(
            {
                "kind": "workbook",
                "total_labels": ["TỔNG SỐ"],
                "sheets": [{"sheet": "A", "theme": "tea", "header_rows": [4], "area": {"header": "x"}}],
            },
            ["'total_area'"],
            id="total-area",
        ),
        pytest.param(
            {
                "kind": "workbook",
                "sheets": [{"sheet": "A", "theme": "tea", "header_rows": [4], "area": {"header": "x", "colour": 1}}],
            },
            ["colour"],
            id="unknown-column-key",
        ),
        pytest.param({"kind": "list", "columns": {"name": "ten"}}, ["'table'", "'area'"], id="list"),
        pytest.param({"kind": "records"}, ["'columns'"], id="records"),
    ],
)
def test_a_malformed_layout_names_its_file_and_key(raw, named):
    with pytest.raises(ReferenceDataError) as err:
        layouts.parse(raw, Path("broken.yml"))
    message = str(err.value)
    assert message.startswith("layout broken.yml: ")
    for value in named:
        assert value in message, (value, message)
