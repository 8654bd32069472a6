"""Chinese resident identity card numbers (GB 11643-1999).

An ID number has 18 characters: a 6-digit region code (the first two digits a province), an
8-digit birth date YYYYMMDD, a 3-digit sequence number whose last digit is odd for men and even
for women, and an ISO 7064 MOD 11-2 check character (0-9 or X).
"""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)
_ASCII_DIGITS = frozenset("0123456789")

PROVINCE_CODES: frozenset[str] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def latest_date_on_earth() -> date:
    """Today's date in the easternmost time zone (UTC+14).

    Used as the "not in the future" bound for calendar dates, so a terminal whose local date is
    already tomorrow relative to the server (e.g. Beijing time vs. a UTC server) is not rejected.
    """
    return (datetime.now(UTC) + timedelta(hours=14)).date()


def _is_ascii_digits(text: str) -> bool:
    return bool(text) and set(text) <= _ASCII_DIGITS


def check_character(first17: str) -> str:
    """The MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits of an ID number."""
    if len(first17) != 17 or not _is_ascii_digits(first17):
        raise ValueError("check_character needs exactly 17 ASCII digits")
    total = sum(int(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _birth_date(value: str) -> date:
    digits = value[6:14]
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValueError(
            f"ID number birth date digits {digits!r} are not a real calendar date"
        ) from None
    if born < EARLIEST_BIRTH_DATE:
        raise ValueError(f"ID number birth date {born.isoformat()} is before 1900-01-01")
    if born > latest_date_on_earth():
        raise ValueError(f"ID number birth date {born.isoformat()} is in the future")
    return born


def validate_id_number(value: str) -> str:
    """Return the normalised ID number (lower-case 'x' made 'X'), or raise ValueError saying why."""
    if not isinstance(value, str):
        raise ValueError("ID number must be a string")
    if len(value) != 18:
        raise ValueError(f"ID number must have 18 characters, got {len(value)}")
    value = value[:17] + value[17].upper()
    if not _is_ascii_digits(value[:17]):
        raise ValueError("ID number characters 1-17 must be ASCII digits 0-9")
    if value[17] not in _ASCII_DIGITS and value[17] != "X":
        raise ValueError(f"ID number check character must be 0-9 or X, got {value[17]!r}")
    if value[:2] not in PROVINCE_CODES:
        raise ValueError(f"ID number region {value[:6]} has no valid province code {value[:2]!r}")
    _birth_date(value)
    expected = check_character(value[:17])
    if value[17] != expected:
        raise ValueError(
            f"ID number check character is wrong: expected {expected}, got {value[17]}"
        )
    return value


def decoded_sex(valid_id: str) -> Literal["male", "female"]:
    """The sex encoded in an ID number already validated (no second check: a hot path)."""
    return "male" if int(valid_id[16]) % 2 else "female"


def decoded_birth_date(valid_id: str) -> date:
    """The birth date encoded in an ID number already validated (no second check)."""
    return date(int(valid_id[6:10]), int(valid_id[10:12]), int(valid_id[12:14]))


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in a (valid) ID number."""
    return _birth_date(validate_id_number(id_number))


def sex_of(id_number: str) -> Literal["male", "female"]:
    """'male' when the 17th digit (last of the sequence number) is odd, else 'female'."""
    return "male" if int(validate_id_number(id_number)[16]) % 2 else "female"


def make_id_number(region6: str, birth: date, seq3: int) -> str:
    """Build a valid ID number from a 6-digit region code, a birth date and a sequence 0-999.

    The sex follows from seq3: odd is male, even is female. Raises ValueError when the parts
    cannot make a valid number (bad region, birth date out of range, seq3 out of range).
    """
    if len(region6) != 6 or not _is_ascii_digits(region6):
        raise ValueError(f"region code must be 6 ASCII digits, got {region6!r}")
    if not 0 <= seq3 <= 999:
        raise ValueError(f"sequence number must be 0-999, got {seq3}")
    first17 = f"{region6}{birth:%Y%m%d}{seq3:03d}"
    if len(first17) != 17:  # years before 1000 format with fewer digits
        raise ValueError(f"birth date {birth.isoformat()} out of range")
    return validate_id_number(first17 + check_character(first17))


IdNumber = Annotated[
    str,
    AfterValidator(validate_id_number),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{17}[0-9Xx]$",
            "description": "18-character national ID number (GB 11643-1999), check character "
            "valid; a lower-case x is stored as X",
            "examples": ["632322198807150035"],
        }
    ),
]
