import pandas as pd
import pytest

from kpi.errors import ParameterError
from kpi.params import check

OBS = pd.DataFrame({"year": [2012, 2018, 2022]})


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(
            (2012, 2022.0, "106", "vi"), "target_year=2022.0: expected a whole year such as 2012, got float", id="float"
        ),
        pytest.param((True, 2022, "106", "vi"), "baseline_year=True: expected a whole year", id="bool"),
        pytest.param(
            (1850, 2022, "106", "vi"), "baseline_year=1850: expected a year between 2000 and 2100", id="range"
        ),
        pytest.param((2022, 2012, "106", "vi"), "baseline_year=2022 must be before target_year=2012", id="order"),
        pytest.param((2012, 2022, "999", "vi"), "area_code='999': not a known area code", id="area"),
        pytest.param((2012, 2022, 106.0, "vi"), "area_code=106.0: expected the code as text", id="area-float"),
        pytest.param(
            (2012, 2022, 99999, "vi"),
            "area_code=99999: not a known area code (given as a number: pass codes "
            "as text, papermill -r area_code 99999, not -p)",
            id="area-int-unknown",
        ),
        pytest.param((2012, 2022, "106", "fr"), "lang='fr': expected one of vi, en", id="lang"),
        pytest.param(
            (2013, 2022, "106", "vi"),
            "baseline_year=2013: no observation for 2013 in the data (years present: 2012, 2018, 2022)",
            id="year-absent",
        ),
    ],
)
def test_bad_parameters_say_which_and_why(args, message):
    with pytest.raises(ParameterError) as err:
        check(*args, observations=OBS)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_good_parameters_pass():
    p = check(2018, 2022, "03413", "en", observations=OBS)
    assert (p.baseline_year, p.target_year, p.area_code, p.lang) == (2018, 2022, "03413", "en")


def test_an_area_code_given_as_a_number_is_read_when_it_names_one_code():
    assert check(2012, 2022, 106, "vi").area_code == "106"
    assert check(2012, 2022, 3413, "vi").area_code == "03413"  # papermill -p area_code 03413 passes 3413
