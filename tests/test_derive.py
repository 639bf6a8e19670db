import pandas as pd
import pytest

from kpi.derive import baselines, district_totals, list_aggregates, ratios
from kpi.layouts import Aggregate, Layout


def obs(rows: list[tuple]) -> pd.DataFrame:
    """Observations from (indicator, value, unit, source_ref) at district 106, 2022, one source."""
    return pd.DataFrame(
        [
            {
                "indicator": i,
                "area_code": "106",
                "area_name": "Huyện Tam Đường",
                "year": 2022,
                "value": v,
                "unit": u,
                "status": "reported",
                "source_id": "s",
                "source_ref": r,
                "note": "",
            }
            for i, v, u, r in rows
        ]
    )


def test_baseline_is_level_minus_printed_increase():
    table = obs([("tea.output_fresh", 10200.0, "t", "a!D7"), ("tea.output_fresh.increase", 6793.0, "t", "a!E7")])
    out = baselines(table, pd.Series([None, 2012]))
    assert out[["indicator", "year", "value", "status", "source_ref"]].to_dict("records") == [
        {
            "indicator": "tea.output_fresh",
            "year": 2012,
            "value": 3407.0,
            "status": "derived",
            "source_ref": "a!D7 − a!E7",
        }
    ]


def test_shares_are_derived_and_checked_against_the_printed_percentage():
    table = obs(
        [
            ("dissemination.officials_studied", 1506.0, "person", "d:8"),
            ("dissemination.officials_total", 1606.0, "person", "d:9"),
            ("dissemination.officials_share.printed", 93.7, "%", "d:10"),
            ("dissemination.party_members_studied", 1902.0, "person", "d:5"),
            ("dissemination.party_members_total", 1944.0, "person", "d:6"),
            ("dissemination.party_members_share.printed", 97.8, "%", "d:7"),
        ]
    )
    derived, findings = ratios(table)
    shares = dict(zip(derived["indicator"], derived["value"]))
    assert shares == {
        "dissemination.officials_share": pytest.approx(93.7733, abs=1e-4),
        "dissemination.party_members_share": pytest.approx(97.8395, abs=1e-4),
    }
    assert findings["indicator"].tolist() == ["dissemination.officials_share"]
    assert "printed 93.7 % but the parts give 93.773 %" in findings["message"].iloc[0]


def test_printed_ratio_is_kept_and_recomputation_only_checks_it():
    table = obs(
        [
            ("tea.output_fresh", 7175.0, "t", "p:14"),
            ("tea.area_harvest", 1123.0, "ha", "p:11"),
            ("tea.yield", 6.39, "t/ha", "p:13"),
        ]
    )
    derived, findings = ratios(table)
    assert derived.empty and findings.empty


def test_list_counts_and_sums():
    table = pd.DataFrame(
        {
            "type": ["sản phẩm OCOP", "sản phẩm OCOP", "nhãn hiệu tập thể"],
            "year": [2022] * 3,
            "area_value": [2.0, None, 0.9],
            "source_id": "l",
            "source_ref": ["l.csv:2", "l.csv:3", "l.csv:4"],
        }
    )
    spec = Layout(
        "t",
        "list",
        table="t",
        area="106",
        aggregates=(
            Aggregate("ocop.products", "count", where={"type": "sản phẩm OCOP"}),
            Aggregate("partners.area", "sum", column="area_value"),
        ),
    )
    out = list_aggregates({"t": table}, {"t": spec})
    assert out[["indicator", "value", "source_ref", "status"]].values.tolist() == [
        ["ocop.products", 2.0, "l.csv:2, 3", "derived"],
        ["partners.area", 2.9, "l.csv:2, 3, 4", "derived"],
    ]
    assert "1 rows without a value left out" in out["note"].iloc[1]


def test_derivations_that_find_nothing_leave_years_and_values_typed():
    """Joined to what the files gave, an empty derivation keeps years whole and values floats: the
    sums derived next (district totals) are then the same whether or not a baseline exists elsewhere."""
    from kpi.schema import OBSERVATIONS

    table = obs([("tea.output_fresh", 10200.0, "t", "a!D7")])
    found = [baselines(table, pd.Series([None])), list_aggregates({}, {}), ratios(table)[0], district_totals(table)]
    for empty in found:
        assert empty.empty
        assert (empty["year"].dtype, empty["value"].dtype) == ("int64", "float64")
    for empty in found[:3]:  # rows made one by one: none is the schema's empty table
        assert dict(empty.dtypes) == dict(OBSERVATIONS.empty().dtypes)
    joined = pd.concat([table, *found], ignore_index=True)
    assert (joined["year"].dtype, joined["value"].dtype) == ("int64", "float64")


def test_plain_numbers_are_plain_number_of_each():
    import numpy as np

    from kpi.derive import plain_number, plain_numbers

    rng = np.random.default_rng(7)  # SYNTHETIC values of every size and sign
    values = list(rng.normal(0, 1, 300) * 10.0 ** rng.integers(-9, 12, 300)) + [
        0.0, -0.0, 1.0, -1.0, 0.99999, -0.99999, 0.00004, -0.00004, 1.005, 2.675, 999.995, 41100.0,
        float("nan"), float("inf"), float("-inf"), 10**15, -(10**15), 3, np.float64(74.03), np.int64(1947),
    ]  # fmt: skip
    assert plain_numbers(values) == [plain_number(v) for v in values]
