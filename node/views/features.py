"""What one record contributes to the roll-ups: the (dim, key, amount) features of its data.

Pure functions of a record's kind and data. They never raise: a parent stores what its child
validated, and a malformed record must still count (as `all` of its kind) rather than break the
write path. `amount` is each kind's measure, summed exactly as an integer:

| kind | amount |
|---|---|
| household | members (member_count) |
| grid | grid members (len(members)); each grid has one leader, so leaders = grids |
| organization | employees |
| governance_org | members |
| dispute | yuan recovered, in fen (1/100 yuan): Yuan strings sum exactly |
| patrol | households visited |
| legal_activity | attendance |
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

Feature = tuple[str, str, int]
ALL = "all"
UNKNOWN = "unknown"
BEIJING = timezone(timedelta(hours=8))
"""Months are counted on China Standard Time, the time of the people who report."""


def _key(value: Any) -> str:
    return str(value)[:64] if value not in (None, "") else UNKNOWN


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def to_fen(value: Any) -> int:
    """Exact yuan (a decimal string such as "45600.00") to integer fen."""
    amount = Decimal(str(value)) * 100
    return int(amount.to_integral_value(rounding=ROUND_HALF_EVEN))


def month_of(value: Any) -> str:
    """YYYY-MM of an ISO date or datetime (datetimes on China Standard Time)."""
    text = str(value)
    if len(text) <= 10:
        return date.fromisoformat(text).strftime("%Y-%m")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment.strftime("%Y-%m")


def visit_ms(value: Any) -> int:
    """Epoch milliseconds of an aware ISO datetime (naive ones are read as China Standard Time)."""
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return int(moment.timestamp() * 1000)


def _person(d: dict[str, Any]) -> list[Feature]:
    born = str(d.get("birth_date") or "")[:4]
    return [
        (ALL, "", 0),
        ("sex", _key(d.get("sex")), 0),
        ("birth_year", born if born.isdigit() else UNKNOWN, 0),
        ("ethnicity", _key(d.get("ethnicity")), 0),
        ("status", _key(d.get("status") or "registered"), 0),
    ]


def _household(d: dict[str, Any]) -> list[Feature]:
    members = _int(d.get("member_count"))
    return [(ALL, "", members), ("house_type", _key(d.get("house_type")), members)]


def _key_person(d: dict[str, Any]) -> list[Feature]:
    cell = f"{_key(d.get('category'))}|{_key(d.get('risk_level'))}"
    return [(ALL, "", 0), ("category_risk", cell, 0)]


def _organization(d: dict[str, Any]) -> list[Feature]:
    staff = _int(d.get("employees"))
    return [(ALL, "", staff), ("org_type", _key(d.get("org_type")), staff)]


def _governance_org(d: dict[str, Any]) -> list[Feature]:
    members = len(d.get("members") or [])
    return [(ALL, "", members), ("org_type", _key(d.get("org_type")), members)]


def _grid(d: dict[str, Any]) -> list[Feature]:
    return [(ALL, "", len(d.get("members") or []))]


def _incident(d: dict[str, Any]) -> list[Feature]:
    return [
        (ALL, "", 0),
        ("category", _key(d.get("category")), 0),
        ("status", _key(d.get("status")), 0),
        ("month", month_of(d.get("reported_at")), 0),
    ]


def _dispute(d: dict[str, Any]) -> list[Feature]:
    fen = to_fen(d.get("amount_recovered_yuan") or "0")
    return [
        (ALL, "", fen),
        ("status", _key(d.get("status")), fen),
        ("month", month_of(d.get("accepted_on")), fen),
    ]


def _patrol(d: dict[str, Any]) -> list[Feature]:
    visited = _int(d.get("households_visited"))
    return [(ALL, "", visited), ("patrol_type", _key(d.get("patrol_type")), visited)]


def _legal_activity(d: dict[str, Any]) -> list[Feature]:
    people = _int(d.get("attendance"))
    return [
        (ALL, "", people),
        ("activity_type", _key(d.get("activity_type")), people),
        ("month", month_of(d.get("held_on")), people),
    ]


def _receipt(d: dict[str, Any]) -> list[Feature]:
    return [(ALL, "", 0), ("state", _key(d.get("state")), 0)]


_EXTRACTORS: dict[str, Callable[[dict[str, Any]], list[Feature]]] = {
    "person": _person,
    "household": _household,
    "key_person": _key_person,
    "organization": _organization,
    "governance_org": _governance_org,
    "grid": _grid,
    "incident": _incident,
    "dispute": _dispute,
    "patrol": _patrol,
    "legal_activity": _legal_activity,
    "receipt": _receipt,
}


def features(kind: str, data: dict[str, Any]) -> list[Feature]:
    """The roll-up features of one live record; always at least (all, "", amount)."""
    extract = _EXTRACTORS.get(kind)
    if extract is None:
        return [(ALL, "", 0)]
    try:
        return extract(data)
    except (ValueError, TypeError, ArithmeticError):
        return [(ALL, "", 0)]


def grid_entry(kind: str, data: dict[str, Any]) -> tuple[str, str] | None:
    """(grid code, name) of a grid record."""
    code = data.get("code") if kind == "grid" else None
    return (code, str(data.get("name") or "")[:200]) if isinstance(code, str) else None


def patrol_visit(kind: str, data: dict[str, Any]) -> tuple[str, str, int] | None:
    """(grid, patrol type, visit time in ms) of a patrol record."""
    if kind != "patrol":
        return None
    grid, patrol_type = data.get("grid"), data.get("patrol_type")
    if not isinstance(grid, str) or not isinstance(patrol_type, str):
        return None
    try:
        return grid, patrol_type[:16], visit_ms(data.get("visited_at"))
    except (ValueError, TypeError, OverflowError):
        return None
