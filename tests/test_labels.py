import pytest

from kpi import labels
from kpi.errors import ParameterError


@pytest.mark.parametrize(
    "value, unit, lang, status, expected",
    [
        pytest.param(41100, "t", "vi", None, "41.100\u00a0t", id="vi-thousands"),
        pytest.param(74.03, "ha", "vi", None, "74,03\u00a0ha", id="vi-decimals"),
        pytest.param(41100, "t", "en", None, "41,100\u00a0t", id="en-thousands"),
        pytest.param(74.03, "ha", "en", None, "74.03\u00a0ha", id="en-decimals"),
        pytest.param(1350, "household", "vi", "lower_bound", "trên 1.350\u00a0hộ", id="vi-lower-bound"),
        pytest.param(2000, "ha", "en", "estimate", "about 2,000\u00a0ha", id="en-estimate"),
        pytest.param(93.7733, "%", "vi", None, "93,8\u00a0%", id="vi-share"),
    ],
)
def test_values_are_formatted_per_language(value, unit, lang, status, expected):
    assert labels.fmt_value(value, unit, lang, status) == expected


def test_labels_exist_in_both_languages():
    for key in ("reported", "derived", "estimate", "lower_bound", "missing"):
        assert labels.status_label(key, "vi") != labels.status_label(key, "en")
    assert labels.indicator_name("tea.area", "vi") == "Tổng diện tích chè"
    assert labels.indicator_name("tea.area", "en") == "Total tea area"


def test_unknown_language_is_a_parameter_error():
    with pytest.raises(ParameterError, match="lang='fr'"):
        labels.fmt_value(1, "t", "fr")
