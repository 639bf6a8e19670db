import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.text import fold, format_number, nfc, parse_number


@pytest.mark.parametrize(
    "raw, value, status, unit_text",
    [
        pytest.param("1.947", 1947.0, None, "", id="thousands-dot"),
        pytest.param("74,03", 74.03, None, "", id="decimal-comma"),
        pytest.param("1.493,9", 1493.9, None, "", id="both"),
        pytest.param("3 000", 3000.0, None, "", id="space-thousands"),
        pytest.param("09 cơ sở", 9.0, None, "cơ sở", id="unit-words"),
        pytest.param("trên 15 con", 15.0, "lower_bound", "con", id="tren"),
        pytest.param("hơn 300", 300.0, "lower_bound", "", id="hon"),
        pytest.param("gần 2.000", 2000.0, "estimate", "", id="gan"),
        pytest.param("ước 10.200", 10200.0, "estimate", "", id="uoc"),
        pytest.param("kế hoạch 20.087", 20087.0, "estimate", "", id="plan"),
        pytest.param("97,8%", 97.8, None, "%", id="percent"),
        pytest.param("1.902¹", 1902.0, None, "", id="footnote-marker"),
        pytest.param(41100, 41100.0, None, "", id="excel-number"),
    ],
)
def test_parse_number_reads_vietnamese_text(raw, value, status, unit_text):
    parsed = parse_number(raw)
    assert (parsed.value, parsed.status, parsed.unit_text, parsed.error) == (value, status, unit_text, None)


@pytest.mark.parametrize("raw", ["", "-", "–", "…", None, float("nan")])
def test_missing_markers_are_missing_not_errors(raw):
    assert parse_number(raw).missing


@pytest.mark.parametrize(
    "raw, fragment",
    [
        pytest.param("n/a", "is not a number", id="text"),
        pytest.param("1,947.5", "English number format", id="english"),
        pytest.param("74.03", "decimal point", id="decimal-point"),
        pytest.param("1.902/1.944", "more than one number", id="ratio"),
        pytest.param(float("inf"), "not a finite number", id="inf"),
        pytest.param("320-160", "runs downwards", id="backwards-range"),
    ],
)
def test_bad_numbers_give_a_reason(raw, fragment):
    parsed = parse_number(raw)
    assert parsed.value is None and fragment in parsed.error


def test_comma_with_three_decimals_is_flagged_ambiguous():
    parsed = parse_number("1,947")
    assert parsed.value == pytest.approx(1.947) and parsed.ambiguous


def test_range_gives_low_and_high():
    parsed = parse_number("5 - 10")
    assert (parsed.value, parsed.high) == (5.0, 10.0)


def test_fold_ignores_case_space_and_diacritics():
    assert fold("Nà Tầm") == fold("NA  TAM") == "na tam"
    assert nfc("Na\u0300 Ta\u0306\u0300m") == "Nà Tằm"


@given(st.text())
def test_parse_number_never_raises(text):
    parsed = parse_number(text)
    assert parsed.error is None or parsed.value is None


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(min_value=0, max_value=3))
def test_vietnamese_format_parses_back(value, decimals):
    text = format_number(value, "vi", decimals)
    parsed = parse_number(text)
    assert parsed.error is None, text
    assert parsed.ambiguous == (decimals == 3 and abs(value) < 999.9995), text  # "1,947" is flagged, never guessed
    assert parsed.value == pytest.approx(float(f"{value:.{decimals}f}"), abs=1e-9)
