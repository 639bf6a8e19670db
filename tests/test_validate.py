import pandas as pd
import pytest

from kpi.errors import KpiError
from kpi.validate import breakdown_sums, identities, validate_observations


def obs(rows: list[tuple], source: str = "s") -> pd.DataFrame:
    """Observations for 2022 from (indicator, area_code, value, unit)."""
    return pd.DataFrame(
        [
            {
                "indicator": i,
                "area_code": a,
                "area_name": "x",
                "year": 2022,
                "value": v,
                "unit": u,
                "status": "reported",
                "source_id": source,
                "source_ref": f"f!S!C{n}",
                "note": "",
            }
            for n, (i, a, v, u) in enumerate(rows, start=7)
        ]
    )


def test_complete_breakdown_must_add_up():
    table = obs(
        [
            ("fish.tanks", "106", 388.0, "tank"),
            ("fish.tanks", "03413", 323.0, "tank"),
            ("fish.tanks", "03406", 13.0, "tank"),
        ]
    )
    out = breakdown_sums(table, {"s": True})
    assert out["message"].tolist() == ["parts by commune add up to 336 tank (2 communes) but the total is 388 tank"]
    table.loc[len(table)] = {**table.iloc[0].to_dict(), "area_code": "03424", "value": 52.0}
    assert breakdown_sums(table, {"s": True}).empty


def test_partial_breakdown_must_not_exceed_the_total():
    table = obs([("tea.area", "106", 1424.0, "ha"), ("tea.area", "03424", 538.0, "ha")])
    assert breakdown_sums(table, {"s": False}).empty
    table.loc[1, "value"] = 1500.0
    assert len(breakdown_sums(table, {"s": False})) == 1


def test_declared_identity_is_checked():
    table = obs(
        [
            ("dissemination.conferences", "106", 214.0, "conference"),
            ("dissemination.conferences_district", "106", 3.0, "conference"),
            ("dissemination.conferences_grassroots", "106", 210.0, "conference"),
        ]
    )
    assert "= 213, but dissemination.conferences = 214" in identities(table)["message"].iloc[0]


def test_schema_refuses_duplicate_keys_and_wrong_units():
    table = obs(
        [
            ("fish.tanks", "106", 388.0, "tank"),
            ("fish.tanks", "106", 342.0, "tank"),
            ("fish.output", "106", 146.0, "kg"),
        ]
    )
    with pytest.raises(KpiError) as err:
        validate_observations(table)
    assert "unit" in str(err.value) and "observations do not match their schema" in str(err.value)


ROW = {
    "indicator": "fish.tanks",
    "area_code": "106",
    "area_name": "Huyện Tam Đường",
    "year": 2022,
    "value": 388.0,
    "unit": "tank",
    "status": "reported",
    "source_id": "s",
    "source_ref": "r",
    "note": "",
}


@pytest.mark.parametrize(
    "change, named",
    [
        pytest.param({"year": 1800}, ["year", "1800", "1900"], id="year-range"),
        pytest.param({"year": "twenty"}, ["year", "'twenty'", "number"], id="year-text"),
        pytest.param({"value": 1e13}, ["value", "1e+12"], id="magnitude"),
        pytest.param({"status": "guess"}, ["status", "'guess'", "statuses"], id="status"),
        pytest.param({"area_code": "999"}, ["area_code", "'999'"], id="area"),
        pytest.param({"indicator": "x.y"}, ["indicator", "'x.y'"], id="indicator"),
        pytest.param({"source_ref": ""}, ["source_ref", "empty"], id="empty-place"),
    ],
)
def test_the_schema_names_the_column_and_the_value(change, named):
    """Each rule of kpi.schema.OBSERVATIONS refuses what breaks it, naming the column and the value."""
    with pytest.raises(KpiError) as err:
        validate_observations(pd.DataFrame([ROW, {**ROW, **change, "source_id": "t"}]))
    message = str(err.value)
    assert message.startswith("observations do not match their schema")
    for value in named:
        assert value in message, (value, message)


def test_a_table_of_the_schema_passes_with_its_types():
    checked = validate_observations(pd.DataFrame([ROW, {**ROW, "year": "2021"}]))
    assert checked["year"].tolist() == [2022, 2021] and checked["year"].dtype == "int64"


def test_text_columns_are_checked_once_per_distinct_value_with_the_same_failures():
    """Each rule on distinct values gives what it gives on every value: the same failures, in the
    order the values first come (random columns of a fixed seed, with missing, empty, unknown and
    non-text values, as objects and as Arrow text)."""
    import random

    import numpy as np

    from kpi import schema, validate

    def every_value(field, column, sets):  # the rule as written for one value at a time
        empty = column.isna() | (column == "")
        failures = [("not empty", v) for v in column[empty].head(validate.MAX_LISTED)] if field.required else []
        present = column[~empty]
        if field.vocabulary:
            unknown = present[~present.isin(sets[field.vocabulary])].unique()[: validate.MAX_LISTED]
            failures += [(f"in {field.vocabulary}", v) for v in unknown]
        return failures

    rng = random.Random(11)
    sets = {"areas": {"106", "03413", "03421"}, "units": {"ha", "t"}}
    pool = ["106", "03413", "03421", "ha", "t", "", None, np.nan, "999", "Xã X", 106, 7.5, "  "]
    fields = [
        schema.Field("area_code", "string", "", required=True, vocabulary="areas"),
        schema.Field("unit", "string", "", required=False, vocabulary="units"),
        schema.Field("note", "string", "", required=True),
    ]
    for _ in range(200):
        values = [rng.choice(pool) for _ in range(rng.randint(0, 60))]
        for column in (
            pd.Series(values, dtype=object),
            pd.Series([v for v in values if isinstance(v, str) or v is None], dtype="str"),
        ):
            for field in fields:
                expected = every_value(field, column, sets)
                got = validate._text_failures(field, column, sets)
                assert [(c, str(v)) for c, v in got] == [(c, str(v)) for c, v in expected], (field.name, values)
