"""Hybrid logical clock.

An HLC value is one 64-bit integer: wall-clock milliseconds in the high 48 bits and a logical
counter in the low 16. It never goes backwards, follows real time when clocks agree, and stays
ordered when they skew: a node that receives a version from the future moves its clock past it.
"""

import time
from collections.abc import Callable

LOGICAL_BITS = 16
MAX_HLC = 2**63 - 1  # stored in signed 64-bit columns
_HEX = frozenset("0123456789abcdef")
_CODE_LENGTHS = (4, 6, 9, 12, 15)  # unit code lengths (schemas/codes.py)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def tick(last: int, now_ms: int) -> int:
    """The next value after `last` at wall time `now_ms`."""
    return max(last + 1, now_ms << LOGICAL_BITS)


def physical_ms(value: int) -> int:
    return value >> LOGICAL_BITS


def ceiling(now_ms: int, max_skew_ms: int) -> int:
    """The largest HLC value a node at wall time `now_ms` accepts from elsewhere: a version
    further ahead comes from a wrong clock and must not drag this node's (issue 10)."""
    return min(MAX_HLC, ((now_ms + max_skew_ms + 1) << LOGICAL_BITS) - 1)


def issue_ahead_ms(last: int, now_ms: int, max_skew_ms: int) -> int:
    """How far beyond now + skew the next value this node would issue lies (0: within).

    A node whose clock was set back after running ahead keeps issuing from its high-water
    mark (HLC: max(last, now)); every version it issued past the bound is held by its parent
    as `clock ahead` until real time reaches it, so such a node refuses to issue instead."""
    beyond = physical_ms(tick(last, now_ms)) - (now_ms + max_skew_ms)
    return max(0, beyond)


def format_version(hlc: int, origin: str) -> str:
    """The wire form of a version: fixed-width hex so that string order is HLC order."""
    return f"{hlc:016x}.{origin}"


def parse_version(version: str) -> tuple[int, str]:
    """The (hlc, origin) of a version in its canonical wire form, else ValueError.

    Only the form format_version produces is accepted (no sign, whitespace, `0x`, `_` or upper
    case, which int() would take), so string order of accepted versions stays (hlc, origin) order.
    """
    if isinstance(version, str):
        digits, _, origin = version.partition(".")
        if (
            len(digits) == 16
            and _HEX.issuperset(digits)
            and len(origin) in _CODE_LENGTHS
            and origin.isascii()
            and origin.isdigit()
        ):
            hlc = int(digits, 16)
            if hlc <= MAX_HLC:
                return hlc, origin
    raise ValueError(f"version {version!r} is not of the form <16 hex digits>.<unit code>")


Clock = Callable[[], int]
"""A source of wall-clock milliseconds; injected so tests can skew or freeze time."""
