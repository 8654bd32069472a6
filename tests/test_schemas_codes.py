"""Unit codes: ASCII digits only, and a length that names a level."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas.codes import (
    CODE_LENGTHS,
    LEVEL_BY_LENGTH,
    Level,
    UnitCode,
    check_code,
    is_within,
    level_of,
    parent_of,
)

VALID_LENGTHS = sorted(LEVEL_BY_LENGTH)
ascii_digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def digit_codes(length: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=length, max_size=length)


valid_codes = st.sampled_from(VALID_LENGTHS).flatmap(digit_codes)


@given(code=valid_codes)
def test_ascii_digit_codes_of_level_lengths_pass(code: str) -> None:
    assert check_code(code) == code
    assert CODE_LENGTHS[level_of(code)] == len(code)


@given(
    code=st.integers(min_value=0, max_value=20)
    .filter(lambda n: n not in LEVEL_BY_LENGTH)
    .flatmap(digit_codes)
)
def test_other_lengths_fail(code: str) -> None:
    with pytest.raises(ValueError):
        check_code(code)


@given(
    code=valid_codes,
    position=st.integers(min_value=0, max_value=14),
    bad=st.characters(blacklist_characters="0123456789"),
)
def test_any_non_ascii_digit_character_fails(code: str, position: int, bad: str) -> None:
    position %= len(code)
    with pytest.raises(ValueError, match="ASCII digits"):
        check_code(code[:position] + bad + code[position + 1 :])


@pytest.mark.parametrize(
    "code",
    [
        "６３２３",  # full-width digits
        "٦٣٢٣",  # Arabic-Indic digits
        "۶۳۲۳",  # extended Arabic-Indic digits
        "६३२३",  # Devanagari digits
        "63a3",
        "ABCD",
        "63.2",
        "6323.22",
        "6323/22",
        "63 23",
        " 6323",
        "6323\n",
        "-632",
        "+632",
        "",
    ],
)
def test_lookalikes_and_punctuation_fail(code: str) -> None:
    with pytest.raises(ValueError):
        check_code(code)


def test_non_string_fails() -> None:
    with pytest.raises(ValueError):
        check_code(6323)  # type: ignore[arg-type]


def test_unit_code_in_a_model() -> None:
    class M(BaseModel):
        unit: UnitCode

    assert M(unit="632322").unit == "632322"
    with pytest.raises(ValidationError, match="ASCII digits"):
        M(unit="６３２３")


def test_levels_and_parents() -> None:
    assert level_of("6323") is Level.prefecture
    assert level_of("632322101201003") is Level.grid
    assert parent_of("6323") is None
    assert parent_of("632322") == "6323"
    assert parent_of("632322101201003") == "632322101201"


@given(code=valid_codes)
def test_parent_is_a_prefix_one_level_up(code: str) -> None:
    parent = parent_of(code)
    if len(code) == 4:
        assert parent is None
    else:
        assert parent is not None
        assert is_within(code, parent)
        assert VALID_LENGTHS.index(len(parent)) == VALID_LENGTHS.index(len(code)) - 1
