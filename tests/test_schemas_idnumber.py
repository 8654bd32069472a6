"""National ID numbers (GB 11643-1999): check character, region, birth date, sex."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas.idnumber import (
    PROVINCE_CODES,
    IdNumber,
    birth_date_of,
    check_character,
    make_id_number,
    sex_of,
    validate_id_number,
)

VALID = "632322198807150035"  # Jianzha region, born 1988-07-15, sequence 003 (male)

regions = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
births = st.dates(min_value=date(1900, 1, 1), max_value=date.today())
sequences = st.integers(min_value=0, max_value=999)


def _id_with_check_x() -> str:
    for seq in range(1000):
        candidate = make_id_number("632322", date(1990, 1, 1), seq)
        if candidate.endswith("X"):
            return candidate
    raise AssertionError("no sequence gives check character X")


def test_known_number_is_valid() -> None:
    assert validate_id_number(VALID) == VALID
    assert birth_date_of(VALID) == date(1988, 7, 15)
    assert sex_of(VALID) == "male"
    assert check_character(VALID[:17]) == "5"


def test_check_character_x_and_lowercase_x_normalised() -> None:
    with_x = _id_with_check_x()
    assert check_character(with_x[:17]) == "X"
    assert validate_id_number(with_x[:17] + "x") == with_x


def test_annotated_type_normalises_and_strips_in_a_model() -> None:
    class M(BaseModel):
        n: IdNumber

    with_x = _id_with_check_x()
    assert M(n=with_x.lower()).n == with_x
    with pytest.raises(ValidationError, match="check character is wrong"):
        M(n=VALID[:17] + "6")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("63232219880715003", "must have 18 characters, got 17"),
        ("6323221988071500355", "must have 18 characters, got 19"),
        ("", "got 0"),
        ("63232219880715A035", "must be ASCII digits"),
        ("６３２３２２198807150035", "must be ASCII digits"),
        ("632322 98807150035", "must be ASCII digits"),
        ("63232219880715003Y", "check character must be 0-9 or X"),
        ("992322198807150035", "province code '99'"),
        ("002322198807150035", "province code '00'"),
        ("632322198802300035", "not a real calendar date"),
        ("632322198813010035", "not a real calendar date"),
        ("632322189912310035", "before 1900-01-01"),
        ("632322198807150036", "expected 5, got 6"),
    ],
)
def test_rejections_say_why(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_id_number(value)


def test_future_birth_date_rejected() -> None:
    future = date.today() + timedelta(days=400)
    first17 = f"632322{future:%Y%m%d}003"
    with pytest.raises(ValueError, match="is in the future"):
        validate_id_number(first17 + check_character(first17))


def test_non_string_rejected() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        validate_id_number(632322198807150035)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("region", "birth", "seq"),
    [
        ("63232", date(1990, 1, 1), 1),
        ("6323a2", date(1990, 1, 1), 1),
        ("632322", date(1990, 1, 1), 1000),
    ],
)
def test_make_id_number_rejects_bad_parts(region: str, birth: date, seq: int) -> None:
    with pytest.raises(ValueError):
        make_id_number(region, birth, seq)


def test_make_id_number_rejects_bad_province() -> None:
    with pytest.raises(ValueError, match="province"):
        make_id_number("992322", date(1990, 1, 1), 1)


def test_check_character_needs_17_digits() -> None:
    with pytest.raises(ValueError):
        check_character("1234")


@given(region=regions, birth=births, seq=sequences)
def test_made_numbers_validate_and_round_trip(region: str, birth: date, seq: int) -> None:
    number = make_id_number(region, birth, seq)
    assert len(number) == 18
    assert validate_id_number(number) == number
    assert birth_date_of(number) == birth
    assert sex_of(number) == ("male" if seq % 2 else "female")
    assert number[:6] == region


@given(
    region=regions,
    birth=births,
    seq=sequences,
    position=st.integers(min_value=0, max_value=17),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_is_rejected(
    region: str, birth: date, seq: int, position: int, shift: int
) -> None:
    number = make_id_number(region, birth, seq)
    old = number[position]
    new = "0123456789"[(int(old) + shift) % 10] if old != "X" else str(shift)
    changed = number[:position] + new + number[position + 1 :]
    assert changed != number
    with pytest.raises(ValueError):
        validate_id_number(changed)
