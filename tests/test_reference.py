import pytest

from kpi import reference
from kpi.errors import UnitMismatch


@pytest.mark.parametrize(
    "spelling, code",
    [
        pytest.param("Bản Hòn", "03421", id="ban-hon"),
        pytest.param("Nà Tầm", "03427", id="na-tam"),
        pytest.param("Bản Bò", "03424", id="ban-bo"),
        pytest.param("Hồ thầu", "03406", id="ho-thau"),
        pytest.param("Thị trấn", "03390", id="thi-tran"),
        pytest.param("THỊ TRẤN TAM ĐƯỜNG ", "03390", id="all-caps-trailing-space"),
        pytest.param("Thèn Xin", "03394", id="then-xin"),
        pytest.param("Sùng Phài", "03397", id="former-unit"),
        pytest.param("Huyện Tam Đường", "106", id="district"),
    ],
)
def test_gazetteer_knows_every_spelling_of_the_report(spelling, code):
    assert reference.gazetteer().match(spelling, 2022).code == code


def test_gazetteer_uses_official_names():
    gaz = reference.gazetteer()
    assert gaz.match("Bản Hòn", 2022).name == "Xã Bản Hon"
    assert gaz.match("Thị trấn", 2022).name == "Thị trấn Tam Đường"


def test_reused_codes_resolve_by_year():
    gaz = reference.gazetteer()
    assert gaz.name("03390", 2022) == "Thị trấn Tam Đường"
    assert gaz.name("03390", 2026) == "Xã Bình Lư"


def test_unknown_area_suggests_the_closest_name():
    with pytest.raises(KeyError, match="unknown area 'Bản Hoon'; closest known name: 'Xã Bản Hon'"):
        reference.gazetteer().match("Bản Hoon", 2022)


def test_units_convert_local_units():
    assert reference.conversion_factor("tạ", "t") == pytest.approx(0.1)
    assert reference.conversion_factor("tạ/ha", "t/ha") == pytest.approx(0.1)
    assert reference.conversion_factor("kg", "t") == pytest.approx(0.001)


def test_area_and_volume_never_confused():
    with pytest.raises(UnitMismatch, match="cannot be converted"):
        reference.conversion_factor("m²", "m3")
    with pytest.raises(UnitMismatch, match="cannot be converted"):
        reference.conversion_factor("m3", "m2")


def test_catalogue_units_are_known_units():
    cat = reference.catalogue()
    known = set(reference.units()["unit"])
    assert set(cat["unit"]) <= known
    assert set(cat["aggregation"]) <= {"sum", "none"}
    assert set(cat["nature"]) <= {"stock", "flow", "ratio"}
    for column in ("numerator", "denominator", "printed_of", "increase_of"):
        targets = set(cat[column]) - {""}
        assert targets <= set(cat.index), f"{column} names unknown indicators: {targets - set(cat.index)}"


def test_the_indicators_units_follow_the_catalogue():
    """Made once per catalogue table, and again when the catalogue is read again."""
    from kpi import reference

    units = reference.indicator_units()
    assert units is reference.indicator_units() and units["tea.area"] == "ha"
    reference.catalogue.cache_clear()
    again = reference.indicator_units()
    assert again is not units and again == units
