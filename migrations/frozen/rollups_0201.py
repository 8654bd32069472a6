"""Migration 0201's data step, frozen: roll up the records a node held before the views, and
take its children's last pushes from child_sync (node/views/{features,rollups,freshness}.py as
they were at revision 0201). A fresh database has no records: then this writes nothing."""

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

Feature = tuple[str, str, int]
_LENGTHS = (4, 6, 9, 12, 15)
_CHUNK = 5000
_BEIJING = timezone(timedelta(hours=8))

_records = sa.table(
    "records",
    sa.column("kind"),
    sa.column("unit"),
    sa.column("data", sa.JSON),  # typed, so the driver's JSON comes back decoded on both engines
    sa.column("deleted", sa.Boolean),
)
_rollup = sa.table(
    "view_rollup", *(sa.column(c) for c in ("unit", "dim", "kind", "key", "parent", "n", "amount"))
)
_grids = sa.table(
    "view_grids",
    *(sa.column(c) for c in ("code", "name", "n", "last_basic_ms", "last_screening_ms")),
)
_visits = sa.table(
    "view_patrol_visits", *(sa.column(c) for c in ("grid", "patrol_type", "visited_ms", "n"))
)
_freshness = sa.table(
    "view_freshness", *(sa.column(c) for c in ("unit", "last_received_ms", "updated_seq"))
)
_child_sync = sa.table(
    "child_sync", sa.column("code"), sa.column("last_push_at", sa.DateTime(timezone=True))
)
_node_state = sa.table("node_state", sa.column("id"), sa.column("code"))


def _key(value: Any) -> str:
    return str(value)[:64] if value not in (None, "") else "unknown"


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _month(value: Any) -> str:
    text = str(value)
    if len(text) <= 10:
        return date.fromisoformat(text).strftime("%Y-%m")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(_BEIJING)
    return moment.strftime("%Y-%m")


def _fen(value: Any) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value(rounding=ROUND_HALF_EVEN))


def _person(d: dict[str, Any]) -> list[Feature]:
    born = str(d.get("birth_date") or "")[:4]
    return [
        ("all", "", 0),
        ("sex", _key(d.get("sex")), 0),
        ("birth_year", born if born.isdigit() else "unknown", 0),
        ("ethnicity", _key(d.get("ethnicity")), 0),
        ("status", _key(d.get("status") or "registered"), 0),
    ]


def _typed(dim: str, field: str, amount: Callable[[dict[str, Any]], int]) -> Callable[..., Any]:
    def extract(d: dict[str, Any]) -> list[Feature]:
        n = amount(d)
        return [("all", "", n), (dim, _key(d.get(field)), n)]

    return extract


def _monthly(pairs: list[tuple[str, str]], date_field: str, amount: Callable[..., int]) -> Any:
    def extract(d: dict[str, Any]) -> list[Feature]:
        n = amount(d)
        out = [("all", "", n)] + [(dim, _key(d.get(field)), n) for dim, field in pairs]
        return [*out, ("month", _month(d.get(date_field)), n)]

    return extract


_EXTRACTORS: dict[str, Callable[[dict[str, Any]], list[Feature]]] = {
    "person": _person,
    "household": _typed("house_type", "house_type", lambda d: _int(d.get("member_count"))),
    "key_person": lambda d: [
        ("all", "", 0),
        ("category_risk", f"{_key(d.get('category'))}|{_key(d.get('risk_level'))}", 0),
    ],
    "organization": _typed("org_type", "org_type", lambda d: _int(d.get("employees"))),
    "governance_org": _typed("org_type", "org_type", lambda d: len(d.get("members") or [])),
    "grid": lambda d: [("all", "", len(d.get("members") or []))],
    "incident": _monthly(
        [("category", "category"), ("status", "status")], "reported_at", lambda d: 0
    ),
    "dispute": _monthly(
        [("status", "status")],
        "accepted_on",
        lambda d: _fen(d.get("amount_recovered_yuan") or "0"),
    ),
    "patrol": _typed("patrol_type", "patrol_type", lambda d: _int(d.get("households_visited"))),
    "legal_activity": _monthly(
        [("activity_type", "activity_type")], "held_on", lambda d: _int(d.get("attendance"))
    ),
    "receipt": lambda d: [("all", "", 0), ("state", _key(d.get("state")), 0)],
}


def _features(kind: str, data: dict[str, Any]) -> list[Feature]:
    extract = _EXTRACTORS.get(kind)
    if extract is None:
        return [("all", "", 0)]
    try:
        return extract(data)
    except (ValueError, TypeError, ArithmeticError):
        return [("all", "", 0)]


def _visit(data: dict[str, Any]) -> tuple[str, str, int] | None:
    grid, patrol_type = data.get("grid"), data.get("patrol_type")
    if not isinstance(grid, str) or not isinstance(patrol_type, str):
        return None
    try:
        moment = datetime.fromisoformat(str(data.get("visited_at")))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_BEIJING)
        return grid, patrol_type[:16], int(moment.timestamp() * 1000)
    except (ValueError, TypeError, OverflowError):
        return None


def _ancestry(unit: str, floor: int) -> list[tuple[str, str]]:
    out, previous = [], ""
    for length in _LENGTHS:
        if length > len(unit):
            break
        prefix = unit[:length]
        if length >= floor or length == len(unit):
            out.append((prefix, previous))
        previous = prefix
    if not out or out[-1][0] != unit:
        out.append((unit, previous))
    return out


def rebuild(conn: Connection) -> None:
    """Fill view_rollup, view_grids and view_patrol_visits from the live records."""
    code = conn.execute(sa.select(_node_state.c.code).where(_node_state.c.id == 1)).scalar()
    floor = len(code or "")
    cells: defaultdict[tuple[str, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    grids: dict[str, list[Any]] = {}
    visits: defaultdict[tuple[str, str, int], int] = defaultdict(int)
    stmt = sa.select(_records.c.kind, _records.c.unit, _records.c.data).where(
        _records.c.deleted.is_(False)
    )
    for kind, unit, data in conn.execute(stmt).yield_per(_CHUNK):
        data = data or {}
        chain = _ancestry(unit, floor)
        for dim, key, amount in _features(kind, data):
            for prefix, parent in chain:
                cell = cells[(prefix, dim, kind, key, parent)]
                cell[0] += 1
                cell[1] += amount
        if kind == "grid" and isinstance(data.get("code"), str):
            held = grids.setdefault(data["code"], [0, ""])
            held[0] += 1
            held[1] = str(data.get("name") or "")[:200]
        elif kind == "patrol" and (visit := _visit(data)) is not None:
            visits[visit] += 1
    rows = [
        {"unit": u, "dim": d, "kind": k, "key": key, "parent": p, "n": n, "amount": a}
        for (u, d, k, key, p), (n, a) in cells.items()
    ]
    latest: dict[tuple[str, str], int] = {}
    for (grid, patrol_type, ms), _n in visits.items():
        latest[(grid, patrol_type)] = max(latest.get((grid, patrol_type), ms), ms)
    codes = set(grids) | {g for g, _t in latest}
    grid_rows = [
        {
            "code": c,
            "name": grids.get(c, [0, ""])[1],
            "n": grids.get(c, [0, ""])[0],
            "last_basic_ms": latest.get((c, "basic")),
            "last_screening_ms": latest.get((c, "screening")),
        }
        for c in sorted(codes)
    ]
    visit_rows = [
        {"grid": g, "patrol_type": t, "visited_ms": ms, "n": n} for (g, t, ms), n in visits.items()
    ]
    for table, batch in ((_rollup, rows), (_grids, grid_rows), (_visits, visit_rows)):
        for start in range(0, len(batch), _CHUNK):
            conn.execute(table.insert(), batch[start : start + _CHUNK])


def backfill_freshness(conn: Connection) -> None:
    """Each direct child's last push (child_sync), as its first freshness entry."""
    stmt = sa.select(_child_sync.c.code, _child_sync.c.last_push_at).where(
        _child_sync.c.last_push_at.is_not(None)
    )
    rows = []
    for code, at in conn.execute(stmt):
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        rows.append(
            {"unit": code, "last_received_ms": int(at.timestamp() * 1000), "updated_seq": 0}
        )
    if rows:
        conn.execute(_freshness.insert(), rows)
