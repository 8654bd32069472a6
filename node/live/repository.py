"""SQL of the live incident feed: incident versions by log position, and the names of places.

The records table is the change feed (docs/decisions/0001): `seq` is each version's position in
this node's log and grows in commit order, so "what arrived since N" is one range of its index.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, literal, select

from node.models import Record, Unit, table
from node.views.models import GridEntry
from schemas.codes import subtree_upper_bound

records = table(Record)
units = table(Unit)
grids = table(GridEntry)
INCIDENT = "incident"
_COLUMNS = (
    records.c.id,
    records.c.unit,
    records.c.data,
    records.c.deleted,
    records.c.seq,
    records.c.updated_at,
)
# `kind || ''` keeps the planner on the seq index: on `kind = 'incident'` alone SQLite would pick
# the (kind, unit, id) index and sort every incident the node holds to find the few new ones.
_KIND_UNINDEXED = records.c.kind + literal("")


def head(conn: Connection) -> int:
    """The latest log position (0 for an empty log)."""
    return int(conn.execute(select(func.max(records.c.seq))).scalar() or 0)


def incidents_after(conn: Connection, after: int, limit: int) -> list[Row[Any]]:
    """Incident versions stored after log position `after`, in log order."""
    stmt = (
        select(*_COLUMNS)
        .where(records.c.seq > after, _KIND_UNINDEXED == INCIDENT)
        .order_by(records.c.seq)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def _in_subtree(root: str) -> Any:
    return (records.c.unit >= root) & (records.c.unit < subtree_upper_bound(root))


def latest_in(conn: Connection, root: str, limit: int) -> list[Row[Any]]:
    """The latest incident versions of a subtree, newest first (live and deleted)."""
    stmt = (
        select(*_COLUMNS)
        .where(records.c.kind == INCIDENT, _in_subtree(root))
        .order_by(records.c.seq.desc())
        .limit(limit)
    )
    return list(conn.execute(stmt))


def replay_in(conn: Connection, root: str, after: int, limit: int) -> list[Row[Any]]:
    """Incident versions of a subtree stored after `after`, in log order (a reconnection)."""
    stmt = (
        select(*_COLUMNS)
        .where(records.c.kind == INCIDENT, _in_subtree(root), records.c.seq > after)
        .order_by(records.c.seq)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def names(conn: Connection, codes: Sequence[str]) -> dict[str, str]:
    """Names of units (the registry) and grids (their grid records) among `codes`."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    out = {
        code: name
        for code, name in conn.execute(
            select(grids.c.code, grids.c.name).where(grids.c.code.in_(wanted), grids.c.n > 0)
        )
        if name
    }
    registry = select(units.c.code, units.c.name).where(units.c.code.in_(wanted))
    out.update({code: name for code, name in conn.execute(registry)})
    return out
