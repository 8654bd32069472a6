"""The hybrid logical clock (federation/hlc.py): pure unit tests, no database."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from federation.hlc import LOGICAL_BITS, format_version, parse_version, physical_ms, tick

# Signed 64-bit: what the BigInteger columns hold.
MAX_HLC = 2**63 - 1
hlcs = st.integers(min_value=0, max_value=MAX_HLC)
# Wall-clock milliseconds that fit in the 47 physical bits of a signed 64-bit HLC.
wall_times = st.integers(min_value=0, max_value=(MAX_HLC >> LOGICAL_BITS) - 1)
node_codes = st.sampled_from(
    ["6323", "6324", "632322", "632323", "632322101", "632322101201", "632322101202"]
)


@given(start=wall_times, readings=st.lists(wall_times, min_size=1, max_size=200))
def test_tick_strictly_increases_whatever_the_wall_clock_does(
    start: int, readings: list[int]
) -> None:
    last = tick(0, start)
    for now in readings:
        nxt = tick(last, now)
        assert nxt > last
        # It never lags behind the wall clock either.
        assert physical_ms(nxt) >= now
        last = nxt


def test_tick_under_a_clock_that_goes_backwards_keeps_the_high_water_physical_time() -> None:
    t = 1_700_000_000_000
    first = tick(0, t)
    values = [first]
    for back in (1, 1000, 3_600_000):  # a millisecond, a second, an hour backwards
        values.append(tick(values[-1], t - back))
    assert values == sorted(set(values))
    # Physical part stays at the high-water mark; only the logical counter moves.
    assert [physical_ms(v) for v in values] == [t] * len(values)
    assert [v & 0xFFFF for v in values] == [0, 1, 2, 3]


def test_tick_follows_real_time_when_the_clock_moves_forward() -> None:
    t = 1_700_000_000_000
    a = tick(0, t)
    a2 = tick(a, t)
    b = tick(a2, t + 5)
    assert physical_ms(a2) == t and a2 == a + 1
    assert b == (t + 5) << LOGICAL_BITS  # logical counter resets with a new millisecond


def test_tick_logical_overflow_carries_into_the_physical_part_monotonically() -> None:
    t = 1_700_000_000_000
    last = (t << LOGICAL_BITS) | 0xFFFF
    nxt = tick(last, t)
    assert nxt > last
    assert physical_ms(nxt) == t + 1


@given(hlc=hlcs, origin=node_codes)
def test_format_parse_roundtrip(hlc: int, origin: str) -> None:
    text = format_version(hlc, origin)
    assert len(text.partition(".")[0]) == 16
    assert parse_version(text) == (hlc, origin)


@given(a=st.tuples(hlcs, node_codes), b=st.tuples(hlcs, node_codes))
@example(a=(0xFF, "6324"), b=(0x100, "6323"))  # hex digit count would matter without padding
@example(a=(7, "632322101201"), b=(7, "6324"))  # tie: string order, not numeric order
def test_string_order_of_versions_is_hlc_then_origin_order(
    a: tuple[int, str], b: tuple[int, str]
) -> None:
    fa, fb = format_version(*a), format_version(*b)
    assert (fa < fb) == (a < b)
    assert (fa == fb) == (a == b)


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".",
        "632322101201",
        "0000000000000001",  # no origin
        "0000000000000001.",  # empty origin
        "000000000000001.6323",  # 15 digits
        "00000000000000001.6323",  # 17 digits
        "zzzzzzzzzzzzzzzz.6323",  # not hex
        "+000000000000001.6323",  # sign accepted by int()
        "-000000000000001.6323",  # negative HLC
        " 000000000000001.6323",  # whitespace accepted by int()
        "0x00000000000001.6323",  # prefix accepted by int(…, 16)
        "0000_0000_000001.6323",  # underscores accepted by int()
        "000000000000000A.6323",  # upper case: string order would no longer be HLC order
        "ffffffffffffffff.6323",  # beyond a signed 64-bit column
        "0000000000000001.63a3",  # origin not a unit code
        "0000000000000001.63",  # origin of no level
        "0000000000000001.6323.1",
    ],
)
def test_parse_rejects_malformed_versions(text: str) -> None:
    with pytest.raises(ValueError):
        parse_version(text)


@given(text=st.text(alphabet="0123456789abcdefABCDEF.+-_x ", max_size=40))
@example(text="+00000000000000f.6323")
@example(text="00000000000000_f.6323")
def test_whatever_parses_is_canonical(text: str) -> None:
    """A version parse_version accepts formats back to itself, so string order stays HLC order."""
    try:
        hlc, origin = parse_version(text)
    except ValueError:
        return
    assert 0 <= hlc <= MAX_HLC
    assert format_version(hlc, origin) == text
