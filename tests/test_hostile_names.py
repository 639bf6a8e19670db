"""The area-name matcher under any input: it raises nothing but KeyError, and a name matches
the same area whatever its case, Unicode form (NFC/NFD) or surrounding whitespace."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi import config, reference

ALIASES = pd.read_csv(config.REFERENCE_DIR / "area_aliases.csv", dtype=str, keep_default_na=False).to_dict("records")
ERA_YEARS = {"pre2025": [2012, 2022, 2024], "post2025": [2025, 2026], "all": [2012, 2026], "former": [2012, 2022]}
WHITESPACE = st.text(alphabet=" \t\n\r\u00a0\u2009\u3000", max_size=4)


@given(name=st.text(max_size=40), year=st.one_of(st.none(), st.integers(min_value=-(10**6), max_value=10**6)))
@settings(max_examples=300, deadline=None)
def test_match_raises_only_key_error(name, year):
    gaz = reference.gazetteer()
    try:
        area = gaz.match(name, year)
    except KeyError as exc:
        assert isinstance(exc.args[0], str) and exc.args[0].startswith("unknown area ")
    else:
        assert gaz.known_code(area.code, year) or "+" in area.code


def variant(alias: str, case: str, form: str, before: str, after: str) -> str:
    text = {"upper": alias.upper(), "lower": alias.lower(), "title": alias.title(), "same": alias}[case]
    return before + unicodedata.normalize(form, text) + after


@given(
    alias=st.sampled_from(ALIASES),
    case=st.sampled_from(["upper", "lower", "title", "same"]),
    form=st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]),
    before=WHITESPACE,
    after=WHITESPACE,
    data=st.data(),
)
@settings(max_examples=400, deadline=None)
def test_match_ignores_case_unicode_form_and_surrounding_space(alias, case, form, before, after, data):
    year = data.draw(st.sampled_from(ERA_YEARS[alias["era"]]))
    gaz = reference.gazetteer()
    expected = gaz.match(alias["alias"], year).code
    assert gaz.match(variant(alias["alias"], case, form, before, after), year).code == expected


@pytest.mark.parametrize("row", ALIASES, ids=[f"{r['alias']}-{r['era']}" for r in ALIASES])
def test_every_alias_matches_its_own_code_in_its_era(row):
    year = ERA_YEARS[row["era"]][-1]
    assert reference.gazetteer().match(row["alias"], year).code == row["code"]
