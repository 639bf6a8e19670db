import pandas as pd
import pytest

from kpi.clean import clean_cells


def cells(**overrides) -> pd.DataFrame:
    """One extracted cell (a commune's tea area as printed) with fields overridden."""
    row = {
        "source_id": "s",
        "source_ref": "f.xlsx!S!C8",
        "indicator": "tea.area",
        "area_raw": "Bản Hòn",
        "year_raw": 2022,
        "raw_value": "74,03",
        "unit_raw": "ha",
        "base_year": None,
        "note": "",
    }
    return pd.DataFrame([{**row, **overrides}])


def test_clean_cell_gives_code_official_name_and_value():
    out = clean_cells(cells())
    assert out.rejects.empty
    assert out.observations[["indicator", "area_code", "area_name", "year", "value", "unit", "status"]].to_dict(
        "records"
    ) == [
        {
            "indicator": "tea.area",
            "area_code": "03421",
            "area_name": "Xã Bản Hon",
            "year": 2022,
            "value": 74.03,
            "unit": "ha",
            "status": "reported",
        }
    ]


def test_local_units_are_converted():
    out = clean_cells(cells(indicator="tea.yield", raw_value="51,4", unit_raw="tạ/ha"))
    assert out.observations["value"].tolist() == [pytest.approx(5.14)]
    assert out.observations["unit"].tolist() == ["t/ha"]


def test_qualifier_becomes_status():
    out = clean_cells(cells(raw_value="trên 150"))
    assert out.observations["status"].tolist() == ["lower_bound"]


@pytest.mark.parametrize(
    "overrides, field, reason",
    [
        pytest.param({"area_raw": "Bản Xyz"}, "area", "unknown area 'Bản Xyz'", id="unknown-area"),
        pytest.param({"raw_value": "khoảng mười"}, "value", "'khoảng mười' is not a number", id="text"),
        pytest.param({"raw_value": "-5"}, "value", "negative value -5 ha", id="negative"),
        pytest.param({"raw_value": "1,947"}, "value", "is ambiguous", id="ambiguous"),
        pytest.param({"unit_raw": "m3"}, "unit", "cannot be converted to ha", id="wrong-unit"),
        pytest.param({"unit_raw": "sào"}, "unit", "unit 'sào' is not in the unit table", id="unknown-unit"),
        pytest.param(
            {"raw_value": "15 tấn"}, "unit", "the cell says 'tấn' but the column's unit is 'ha'", id="mixed-unit"
        ),
        pytest.param({"indicator": "tea.areas"}, "indicator", "closest: 'tea.area'", id="unknown-indicator"),
        pytest.param({"year_raw": "năm nay"}, "year", "is not a year", id="bad-year"),
        pytest.param(
            {"indicator": "initiatives.council_share_graduate", "raw_value": "120", "unit_raw": "%"},
            "value",
            "above 100 %",
            id="share-over-100",
        ),
    ],
)
def test_bad_cells_are_rejected_with_place_and_reason(overrides, field, reason):
    out = clean_cells(cells(**overrides))
    assert out.observations.empty
    assert out.rejects[["source_ref", "field"]].values.tolist() == [["f.xlsx!S!C8", field]]
    assert reason in out.rejects["reason"].iloc[0]


def test_missing_cells_are_counted_not_kept():
    out = clean_cells(cells(raw_value="-"))
    assert out.observations.empty and out.rejects.empty and out.missing == 1


def test_range_feeds_min_and_max_indicators():
    out = clean_cells(
        cells(
            indicator="initiatives.education_per_year",
            raw_value="160-320",
            unit_raw="sáng kiến",
            area_raw="Huyện Tam Đường",
        )
    )
    assert dict(zip(out.observations["indicator"], out.observations["value"])) == {
        "initiatives.education_per_year_min": 160.0,
        "initiatives.education_per_year_max": 320.0,
    }


def test_distinct_values_keep_their_types_apart_and_their_order():
    """The rule once per distinct value, values of one type or mixed: 1, 1.0 and True stay apart."""
    from kpi.clean import _distinct

    seen = []

    def rule(v):
        seen.append(v)
        return repr(v)

    nan = float("nan")
    for values in (["b", "a", "b"], [2.0, nan, 2.0, nan], [1, 1.0, True, "1", None, 1, True]):
        seen.clear()
        assert _distinct(values, rule) == [repr(v) for v in values]
        assert len(seen) == len({(type(v), v) for v in values})
