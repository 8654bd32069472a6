"""Shared field types: phones, dates, money, strings, grid codes."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.common import (
    GridCode,
    KindModel,
    NonEmptyStr,
    NotFutureDatetime,
    PastDate,
    Phone,
    Sex,
    Yuan,
    check_phone,
)

phone = TypeAdapter(Phone)
yuan = TypeAdapter(Yuan)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("13897312345", "13897312345"),
        ("19912345678", "19912345678"),
        ("138 9731 2345", "13897312345"),
        ("138-9731-2345", "13897312345"),
        ("+86 138 9731 2345", "13897312345"),
        ("+86-13897312345", "13897312345"),
        ("0973-8721234", "0973-8721234"),
        ("09738721234", "09738721234"),
        ("010-62345678", "010-62345678"),
        ("0973 8721234", "09738721234"),
    ],
)
def test_phone_accepts_and_normalises(raw: str, stored: str) -> None:
    assert phone.validate_python(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "12897312345",  # mobiles start 13-19
        "1389731234",  # 10 digits
        "138973123456",  # 12 digits
        "1389731234a",
        "１３８９７３１２３４５",  # full-width digits
        "0973-872123",  # local part too short
        "0973-0721234",  # local part starts with 0
        "973-8721234",  # area code must start with 0
        "tel:13897312345",
        "",
    ],
)
def test_phone_rejects(raw: str) -> None:
    with pytest.raises(ValidationError, match="neither a mobile"):
        phone.validate_python(raw)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_any_mobile_passes(number: str) -> None:
    assert check_phone(number) == number


def test_past_date() -> None:
    class M(KindModel):
        held_on: PastDate

    assert M(held_on="2020-11-27").held_on == date(2020, 11, 27)
    assert M(held_on=date.today()).held_on == date.today()
    future = date.today() + timedelta(days=3)
    with pytest.raises(ValidationError, match=f"held_on {future.isoformat()} is in the future"):
        M(held_on=future)
    with pytest.raises(ValidationError, match="is in the future"):
        TypeAdapter(PastDate).validate_python(future)


def test_not_future_datetime_allows_five_minutes_of_clock_skew() -> None:
    class M(KindModel):
        at: NotFutureDatetime

    now = datetime.now(UTC)
    assert M(at=now + timedelta(minutes=4)).at > now
    with pytest.raises(ValidationError, match=r"at \S+ is in the future"):
        M(at=now + timedelta(minutes=10))
    with pytest.raises(ValidationError, match="timezone"):
        M(at=datetime(2020, 1, 1, 12, 0))


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("7277000", Decimal("7277000.00")),
        (0, Decimal("0.00")),
        ("0.1", Decimal("0.10")),
        (12.5, Decimal("12.50")),
        ("45600.00", Decimal("45600.00")),
    ],
)
def test_yuan_accepts_and_keeps_exact_cents(raw: object, stored: Decimal) -> None:
    value = yuan.validate_python(raw)
    assert value == stored
    assert str(value) == str(stored)


@pytest.mark.parametrize("raw", ["-1", "1.234", "nan", "inf", "abc", "1e20"])
def test_yuan_rejects(raw: str) -> None:
    with pytest.raises(ValidationError):
        yuan.validate_python(raw)


def test_yuan_is_a_json_string() -> None:
    class M(KindModel):
        amount: Yuan

    m = M(amount="0.1")
    assert m.model_dump(mode="json") == {"amount": "0.10"}
    assert m.model_dump_json() == '{"amount":"0.10"}'
    assert m.model_dump()["amount"] == Decimal("0.10")


@given(cents=st.integers(min_value=0, max_value=10**12 - 1))  # up to the bound, ¥10^10 excluded
def test_yuan_round_trips_exactly(cents: int) -> None:
    amount = Decimal(cents) / 100
    dumped = yuan.dump_python(yuan.validate_python(str(amount)), mode="json")
    assert Decimal(dumped) == amount


def test_non_empty_str() -> None:
    adapter = TypeAdapter(NonEmptyStr)
    assert adapter.validate_python("  卓玛 ") == "卓玛"
    for bad in ["", "   ", "x" * 201]:
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
    assert adapter.validate_python("x" * 200) == "x" * 200


def test_grid_code() -> None:
    adapter = TypeAdapter(GridCode)
    assert adapter.validate_python("632322101201003") == "632322101201003"
    with pytest.raises(ValidationError, match="not a grid code"):
        adapter.validate_python("632322101201")
    with pytest.raises(ValidationError, match="ASCII digits"):
        adapter.validate_python("63232210120100a")


def test_kind_model_forbids_extra_and_strips() -> None:
    class M(KindModel):
        name: str
        sex: Sex

    assert M(name="  a  ", sex="female").name == "a"
    with pytest.raises(ValidationError, match="Extra inputs"):
        M.model_validate({"name": "a", "sex": "male", "other": 1})
    with pytest.raises(ValidationError):
        M(name="a", sex="unknown")
    assert issubclass(M, BaseModel)
