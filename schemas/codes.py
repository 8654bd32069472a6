"""Unit codes: hierarchical ASCII-digit codes whose length gives the level.

A child's code starts with its parent's code, so "X is in the subtree of Y" is a prefix test.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator


class Level(StrEnum):
    prefecture = "prefecture"
    county = "county"
    township = "township"
    village = "village"
    grid = "grid"


CODE_LENGTHS: dict[Level, int] = {
    Level.prefecture: 4,
    Level.county: 6,
    Level.township: 9,
    Level.village: 12,
    Level.grid: 15,
}
LEVEL_BY_LENGTH: dict[int, Level] = {n: level for level, n in CODE_LENGTHS.items()}
NODE_LEVELS = (Level.prefecture, Level.county, Level.township, Level.village)
_ASCII_DIGITS = frozenset("0123456789")


def check_code(code: str) -> str:
    """Return `code` if it is a valid unit code, else raise ValueError saying why."""
    if not isinstance(code, str):
        raise ValueError("unit code must be a string")
    # str.isdigit() accepts full-width and other Unicode digits; codes are ASCII only.
    if not code or not set(code) <= _ASCII_DIGITS:
        raise ValueError(f"unit code {code!r} must be ASCII digits 0-9 only")
    if len(code) not in LEVEL_BY_LENGTH:
        raise ValueError(
            f"unit code {code!r} has {len(code)} digits; expected 4, 6, 9, 12 or 15 "
            "(prefecture, county, township, village, grid)"
        )
    return code


UnitCode = Annotated[str, AfterValidator(check_code)]


def level_of(code: str) -> Level:
    return LEVEL_BY_LENGTH[len(check_code(code))]


def parent_of(code: str) -> str | None:
    """The code of the unit directly above `code`, or None for a prefecture."""
    lengths = sorted(LEVEL_BY_LENGTH)
    index = lengths.index(len(check_code(code)))
    return code[: lengths[index - 1]] if index else None


def is_within(code: str, root: str) -> bool:
    """True when `code` is `root` itself or lies in its subtree."""
    return code.startswith(root)


def subtree_upper_bound(root: str) -> str:
    """Exclusive upper bound of the codes in `root`'s subtree, for an indexed range scan.

    ':' is the ASCII character after '9', so every code starting with root sorts below root + ':'.
    """
    return root + ":"
