"""SQL of the directives domain: the directive index and the pull cursor (the directive and
receipt records themselves are read through node/records/repository.py)."""

import uuid
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from node.db import upsert_insert
from node.directives.models import DirectiveEntry, DirectivePull
from node.models import NodeState, table

entries = table(DirectiveEntry)
pulls = table(DirectivePull)
node_state = table(NodeState)
# Built once, the statements of every directive poll (building a select costs several times
# what running it costs here).
_entries_since = (
    select(entries)
    .where(entries.c.seq > bindparam("seq"))
    .order_by(entries.c.seq)
    .limit(bindparam("limit"))
)
_pull = select(pulls).where(pulls.c.id == 1)


def upsert_entry(conn: Connection, row: dict[str, Any]) -> None:
    stmt = upsert_insert(conn, entries).values(**row)
    changed = {k: stmt.excluded[k] for k in row if k not in ("id", "received_at", "requested")}
    conn.execute(stmt.on_conflict_do_update(index_elements=[entries.c.id], set_=changed))


def get_entry(conn: Connection, directive_id: uuid.UUID) -> Row[Any] | None:
    return conn.execute(select(entries).where(entries.c.id == directive_id)).first()


def entries_since(conn: Connection, seq: int, limit: int) -> list[Row[Any]]:
    """Directives whose held version is newer than log position `seq`, in log order."""
    return list(conn.execute(_entries_since, {"seq": seq, "limit": limit}))


def latest_entries(conn: Connection, limit: int) -> list[Row[Any]]:
    """The most recently changed directives, newest first."""
    return list(conn.execute(select(entries).order_by(entries.c.seq.desc()).limit(limit)))


def issued_by(conn: Connection, issuer: str, limit: int) -> list[Row[Any]]:
    stmt = (
        select(entries)
        .where(entries.c.issuer == issuer)
        .order_by(entries.c.seq.desc())
        .limit(limit)
    )
    return list(conn.execute(stmt))


def addressed_here(conn: Connection, limit: int, kind: str | None = None) -> list[Row[Any]]:
    stmt = select(entries).where(entries.c.for_me.is_(True))
    if kind is not None:
        stmt = stmt.where(entries.c.directive_kind == kind)
    return list(conn.execute(stmt.order_by(entries.c.seq.desc()).limit(limit)))


def own_code(conn: Connection) -> str:
    return str(conn.execute(select(node_state.c.code).where(node_state.c.id == 1)).scalar_one())


def get_pull(conn: Connection) -> Row[Any] | None:
    return conn.execute(_pull).first()


def save_pull(conn: Connection, **values: Any) -> None:
    if conn.execute(update(pulls).where(pulls.c.id == 1).values(**values)).rowcount == 0:
        defaults = {"cursor": 0, "received": 0, "refused": 0}
        conn.execute(pulls.insert().values(id=1, **{**defaults, **values}))
