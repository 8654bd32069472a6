"""Shared field types of the record kinds, and their base model."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from schemas.codes import CODE_LENGTHS, Level, check_code
from schemas.idnumber import latest_date_on_earth

__all__ = [
    "CLOCK_SKEW",
    "Count",
    "GridCode",
    "KindModel",
    "LongText",
    "NonEmptyStr",
    "NotFutureDatetime",
    "PastDate",
    "Phone",
    "Sex",
    "Timestamp",
    "Yuan",
    "check_phone",
    "code_of_level",
    "latest_date_on_earth",
]


class Sex(StrEnum):
    male = "male"
    female = "female"


class KindModel(BaseModel):
    """Base of every kind's `data` payload: unknown fields are rejected, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A stripped string of 1 to 200 characters."""

LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
"""Free text (notes, findings) of at most 2,000 characters."""

COUNT_MAX = 1_000_000_000
"""Upper bound of every count: roll-ups sum billions of them within signed 64 bits."""

Count = Annotated[int, Field(ge=0, le=COUNT_MAX)]
"""A non-negative whole number of at most COUNT_MAX."""


# --- phone numbers ---------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Area code 0 + 2-3 digits (010, 021, 0973), then a 7-8 digit local number not starting with 0.
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}")


def check_phone(value: str) -> str:
    """Normalise a Chinese phone number, or raise ValueError.

    Mobiles (11 digits starting 13-19; an optional +86 prefix, spaces and hyphens are dropped)
    are stored as 11 bare digits. Landlines keep their form, with or without the hyphen after
    the area code (0973-8721234 or 09738721234); spaces are dropped.
    """
    compact = "".join(value.split())
    if compact.startswith("+86"):
        compact = compact[3:].lstrip("-")
    bare = compact.replace("-", "")
    if _MOBILE.fullmatch(bare):
        return bare
    if _LANDLINE.fullmatch(compact):
        return compact
    raise ValueError(
        f"phone {value!r} is neither a mobile number (11 digits starting 13-19) nor a landline "
        "(area code starting 0, then 7-8 digits, e.g. 0973-8721234)"
    )


Phone = Annotated[str, AfterValidator(check_phone)]


# --- dates and times -------------------------------------------------------------------------

CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of this server's clock a reported time may be (terminals' clocks drift)."""


def _field(info: ValidationInfo, default: str) -> str:
    return info.field_name or default


def _not_future_date(value: date, info: ValidationInfo) -> date:
    if value > latest_date_on_earth():
        raise PydanticCustomError(
            "date_in_future",
            "{field} {value} is in the future",
            {"field": _field(info, "date"), "value": value.isoformat()},
        )
    return value


def _not_future_datetime(value: datetime, info: ValidationInfo) -> datetime:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise PydanticCustomError(
            "datetime_in_future",
            "{field} {value} is in the future",
            {"field": _field(info, "time"), "value": value.isoformat()},
        )
    return value


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes, all of them UTC: say so on the wire.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Timestamp = Annotated[datetime, AfterValidator(_utc)]
"""A moment in an answer, always written with its offset (naive values are UTC)."""

PastDate = Annotated[date, AfterValidator(_not_future_date)]
"""An ISO date not later than today (today as anywhere on Earth, UTC+14)."""

NotFutureDatetime = Annotated[AwareDatetime, AfterValidator(_not_future_datetime)]
"""A timezone-aware datetime at most CLOCK_SKEW ahead of the server's clock."""


# --- money -----------------------------------------------------------------------------------

_CENT = Decimal("0.01")


def _to_cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT)


Yuan = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    AfterValidator(_to_cents),
    PlainSerializer(str, return_type=str, when_used="json"),
]
"""An amount of yuan: exact, ≥ 0, below 10^10 (roll-ups sum millions of them in fen within
signed 64 bits), at most 2 decimals; stored with exactly 2 ("5" → "5.00")
and written as a JSON string so no float rounding touches it."""


# --- unit codes of one level -----------------------------------------------------------------


def code_of_level(level: Level) -> AfterValidator:
    """A validator for unit codes of exactly `level` (use in Annotated[str, ...])."""

    def check(code: str) -> str:
        check_code(code)
        if len(code) != CODE_LENGTHS[level]:
            raise ValueError(
                f"unit code {code!r} is not a {level} code ({CODE_LENGTHS[level]} digits)"
            )
        return code

    return AfterValidator(check)


GridCode = Annotated[str, code_of_level(Level.grid)]
"""A 15-digit grid code (a village's 12-digit code plus 3 digits)."""


class MoveLink(BaseModel):
    """One end of a move (docs/decisions/0652): the record at the other end and its unit."""

    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="Id of the record at the other end of the move")
    unit: str = Field(description="Its unit", max_length=15)
