"""Hybrid logical clock.

An HLC value is one 64-bit integer: wall-clock milliseconds in the high 48 bits and a logical
counter in the low 16. It never goes backwards, follows real time when clocks agree, and stays
ordered when they skew: a node that receives a version from the future moves its clock past it.
"""

import time
from collections.abc import Callable

LOGICAL_BITS = 16


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def tick(last: int, now_ms: int) -> int:
    """The next value after `last` at wall time `now_ms`."""
    return max(last + 1, now_ms << LOGICAL_BITS)


def physical_ms(value: int) -> int:
    return value >> LOGICAL_BITS


def format_version(hlc: int, origin: str) -> str:
    """The wire form of a version: fixed-width hex so that string order is HLC order."""
    return f"{hlc:016x}.{origin}"


def parse_version(version: str) -> tuple[int, str]:
    hlc_hex, _, origin = version.partition(".")
    if len(hlc_hex) != 16 or not origin:
        raise ValueError(f"version {version!r} is not of the form <16 hex digits>.<unit code>")
    return int(hlc_hex, 16), origin


Clock = Callable[[], int]
"""A source of wall-clock milliseconds; injected so tests can skew or freeze time."""
