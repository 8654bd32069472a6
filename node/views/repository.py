"""SQL of the views: roll-up upserts (write path) and their reads. Nothing else builds view SQL."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Row,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from node.db import ID_CHUNK, execute_many, upsert_insert
from node.models import ChildCredential, Unit, table
from node.views.models import GridEntry, PatrolVisit, Rollup, UnitFreshness
from schemas.codes import subtree_upper_bound

rollup = table(Rollup)
grids = table(GridEntry)
visits = table(PatrolVisit)
freshness = table(UnitFreshness)


# --- write path ------------------------------------------------------------------------------


def add_rollup(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add (n, amount) deltas: one upsert for the whole batch (keys are distinct)."""
    if not rows:
        return
    stmt = upsert_insert(conn, rollup)
    execute_many(
        conn,
        stmt.on_conflict_do_update(
            index_elements=[rollup.c.unit, rollup.c.dim, rollup.c.kind, rollup.c.key],
            set_={
                "n": rollup.c.n + stmt.excluded.n,
                "amount": rollup.c.amount + stmt.excluded.amount,
            },
        ),
        rows,
    )


def add_grids(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = upsert_insert(conn, grids)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[grids.c.code],
            set_={"n": grids.c.n + stmt.excluded.n, "name": stmt.excluded.name},
        ),
        rows,
    )


def add_visits(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = upsert_insert(conn, visits)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[visits.c.grid, visits.c.patrol_type, visits.c.visited_ms],
            set_={"n": visits.c.n + stmt.excluded.n},
        ),
        rows,
    )


def merge_freshness(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Keep the later of the held and the given time per unit (a max-merge: order-free)."""
    if not rows:
        return
    stmt = upsert_insert(conn, freshness)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[freshness.c.unit],
            set_={
                "last_received_ms": stmt.excluded.last_received_ms,
                "updated_seq": stmt.excluded.updated_seq,
            },
            where=stmt.excluded.last_received_ms > freshness.c.last_received_ms,
        ),
        rows,
    )


def freshness_changed_since(conn: Connection, seq: int) -> list[Row[Any]]:
    stmt = select(freshness.c.unit, freshness.c.last_received_ms).where(
        freshness.c.updated_seq > seq
    )
    return list(conn.execute(stmt.order_by(freshness.c.unit)))


def latest_visits(conn: Connection, codes: Sequence[str]) -> dict[tuple[str, str], int]:
    """Latest live visit per (grid, type) of the given grids (primary-key ranges)."""
    out: dict[tuple[str, str], int] = {}
    for start in range(0, len(codes), ID_CHUNK):
        stmt = (
            select(visits.c.grid, visits.c.patrol_type, func.max(visits.c.visited_ms))
            .where(visits.c.grid.in_(codes[start : start + ID_CHUNK]), visits.c.n > 0)
            .group_by(visits.c.grid, visits.c.patrol_type)
        )
        out.update({(g, t): int(ms) for g, t, ms in conn.execute(stmt)})
    return out


def set_latest_visits(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Store each grid's latest basic and screening visit (a grid row is made if missing)."""
    if not rows:
        return
    stmt = upsert_insert(conn, grids)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[grids.c.code],
            set_={
                "last_basic_ms": stmt.excluded.last_basic_ms,
                "last_screening_ms": stmt.excluded.last_screening_ms,
            },
        ),
        [{"name": "", "n": 0, **row} for row in rows],
    )


# --- reads: statements built once, so a view pays only for binding and running them --------

_COLUMNS = (rollup.c.unit, rollup.c.dim, rollup.c.kind, rollup.c.key, rollup.c.n, rollup.c.amount)
_DIMS: Any = bindparam("dims", expanding=True)
_KINDS: Any = bindparam("kinds", expanding=True)
_FRAME = union_all(
    select(*_COLUMNS).where(
        rollup.c.unit == bindparam("unit"), rollup.c.dim.in_(_DIMS), rollup.c.kind.in_(_KINDS)
    ),
    select(*_COLUMNS).where(
        rollup.c.parent == bindparam("unit"), rollup.c.dim.in_(_DIMS), rollup.c.kind.in_(_KINDS)
    ),
)
_units = table(Unit)
_NAMES = select(_units.c.code, _units.c.name).where(
    or_(_units.c.code.in_(bindparam("codes", expanding=True)), _units.c.parent == bindparam("unit"))
)
_creds = table(ChildCredential)
_LINKS = union_all(
    select(freshness.c.unit, freshness.c.last_received_ms).where(
        freshness.c.unit.in_(bindparam("units", expanding=True))
    ),
    select(_creds.c.code, literal(-1, BigInteger)).where(_creds.c.revoked.is_(False)),
)
_GRIDS = (
    select(grids.c.code, grids.c.name, grids.c.last_basic_ms, grids.c.last_screening_ms)
    .where(grids.c.code >= bindparam("low"), grids.c.code < bindparam("high"), grids.c.n > 0)
    .order_by(grids.c.code)
)


def frame_rows(
    conn: Connection, unit: str, *, kinds: Sequence[str], dims: Sequence[str]
) -> list[Any]:
    """Roll-up rows (unit, dim, kind, key, n, amount) of `unit` itself (the subtree's figures)
    and of each direct child: one primary-key range and one index range."""
    return list(conn.execute(_FRAME, {"unit": unit, "dims": list(dims), "kinds": list(kinds)}))


def unit_names(conn: Connection, *, unit: str, codes: Sequence[str]) -> dict[str, str]:
    """Registry names of `codes` and of the direct children of `unit`."""
    return {code: name for code, name in conn.execute(_NAMES, {"codes": list(codes), "unit": unit})}


def grids_in(conn: Connection, root: str) -> list[Row[Any]]:
    """(code, name, last_basic_ms, last_screening_ms) of the live grids of a subtree."""
    bounds = {"low": root, "high": subtree_upper_bound(root)}
    return list(conn.execute(_GRIDS, bounds))


_KNOWN = select(
    or_(
        exists().where(rollup.c.unit == bindparam("code")),
        exists().where(grids.c.code == bindparam("code"), grids.c.n > 0),
    )
)


def holds_unit(conn: Connection, code: str) -> bool:
    """Whether this node holds anything at or below `code`: roll-up rows or a live grid
    (registered units are known from the registry already)."""
    return bool(conn.execute(_KNOWN, {"code": code}).scalar())


def links(conn: Connection, units: Sequence[str]) -> tuple[dict[str, int], set[str]]:
    """Freshness times of `units`, and the direct children enrolled here (with a credential)."""
    times: dict[str, int] = {}
    enrolled: set[str] = set()
    for unit, ms in conn.execute(_LINKS, {"units": list(units)}):
        if ms == -1:
            enrolled.add(unit)
        else:
            times[unit] = int(ms)
    return times, enrolled


# --- recount (node/views/recount.py): every kept figure, and replacing them all ---------------


def all_rollups(conn: Connection) -> dict[tuple[str, str, str, str], tuple[int, int, str]]:
    """Every roll-up cell that counts something: (unit, dim, kind, key) → (n, amount, parent)."""
    stmt = select(*_COLUMNS, rollup.c.parent).where(or_(rollup.c.n != 0, rollup.c.amount != 0))
    return {(u, d, k, key): (int(n), int(a), p) for u, d, k, key, n, a, p in conn.execute(stmt)}


def all_grids(conn: Connection) -> dict[str, tuple[int, int | None, int | None]]:
    """Grid code → (live grid records, latest basic visit, latest screening visit)."""
    stmt = select(grids.c.code, grids.c.n, grids.c.last_basic_ms, grids.c.last_screening_ms)
    return {
        c: (int(n), b, s)
        for c, n, b, s in conn.execute(stmt)
        if n or b is not None or s is not None
    }


def all_visits(conn: Connection) -> dict[tuple[str, str, int], int]:
    stmt = select(visits.c.grid, visits.c.patrol_type, visits.c.visited_ms, visits.c.n)
    return {(g, t, int(ms)): int(n) for g, t, ms, n in conn.execute(stmt) if n}


def clear_figures(conn: Connection) -> None:
    """Empty the roll-up tables (in the transaction that writes the recount back)."""
    for t in (rollup, grids, visits):
        conn.execute(t.delete())
