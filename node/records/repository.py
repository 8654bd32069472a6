"""SQL for records, the change feed and the per-unit roll-up. Nothing else builds record SQL."""

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Row, String, Text, and_, bindparam, cast, func, or_, select

from node.db import execute_many, upsert_insert
from node.models import ConflictEntry, Record, UnitCount, table
from schemas.codes import subtree_upper_bound

records = table(Record)
unit_counts = table(UnitCount)
conflicts = table(ConflictEntry)
_HEAD_COLUMNS = (
    records.c.id,
    records.c.kind,
    records.c.unit,
    records.c.hlc,
    records.c.origin,
    records.c.deleted,
)
WIRE_COLUMNS = (  # what a record carries on the wire, in the order of the table's own columns
    records.c.id,
    records.c.kind,
    records.c.unit,
    records.c.data,
    records.c.hlc,
    records.c.origin,
    records.c.deleted,
    records.c.schema_version,
)
_ID_CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds


def in_subtree(column: Any, root: str) -> Any:
    """An index-friendly range test for "column is root or below it"."""
    return and_(column >= root, column < subtree_upper_bound(root))


def fetch_heads(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The current head (kind, unit, version, deleted) of each id this node holds."""
    if conn.dialect.name == "sqlite" and _sqlite_has_json(conn):
        # One parameter, a JSON array of the ids as SQLite stores them: three times faster than
        # IN lists of 900 parameters, the bound on old SQLite builds.
        listed = select(func.json_each(bindparam("ids")).table_valued("value").c.value)
        stmt = select(*_HEAD_COLUMNS).where(records.c.id.in_(listed))
        rows = conn.execute(stmt, {"ids": orjson.dumps([i.hex for i in ids]).decode()})
        return {row.id: row for row in rows}
    heads: dict[uuid.UUID, Any] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        for row in conn.execute(select(*_HEAD_COLUMNS).where(records.c.id.in_(chunk))):
            heads[row.id] = row
    return heads


def _sqlite_has_json(conn: Connection) -> bool:
    """JSON functions are built into SQLite from 3.38 (and into most builds before it)."""
    return bool(conn.dialect.dbapi and conn.dialect.dbapi.sqlite_version_info >= (3, 38))


def save_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new record rows and replace held ones (same keys in every row), in one call."""
    if not rows:
        return
    rows = sorted(rows, key=lambda row: row["id"].int)  # in key order: fewer index pages touched
    stmt = upsert_insert(conn, records)
    replaced = {name: stmt.excluded[name] for name in rows[0] if name != "id"}
    execute_many(
        conn, stmt.on_conflict_do_update(index_elements=[records.c.id], set_=replaced), rows
    )


def add_live_counts(conn: Connection, deltas: dict[tuple[str, str], int]) -> None:
    """Apply (unit, kind) → delta to the roll-up with one upsert per batch."""
    rows = [{"unit": u, "kind": k, "live": d} for (u, k), d in deltas.items() if d]
    if not rows:
        return
    stmt = upsert_insert(conn, unit_counts)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[unit_counts.c.unit, unit_counts.c.kind],
            set_={"live": unit_counts.c.live + stmt.excluded.live},
        ),
        rows,
    )


def get_row(conn: Connection, record_id: uuid.UUID) -> Row[Any] | None:
    return conn.execute(select(records).where(records.c.id == record_id)).first()


def list_page(
    conn: Connection,
    *,
    kind: str | None,
    unit: str,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """Live records of a subtree in (unit, id) order: keyset pagination stable under writes."""
    stmt = select(records).where(in_subtree(records.c.unit, unit), records.c.deleted.is_(False))
    if kind is not None:
        stmt = stmt.where(records.c.kind == kind)
    if after is not None:
        after_unit, after_id = after
        stmt = stmt.where(
            or_(
                records.c.unit > after_unit,
                and_(records.c.unit == after_unit, records.c.id > after_id),
            )
        )
    return list(conn.execute(stmt.order_by(records.c.unit, records.c.id).limit(limit)))


def changes_since(conn: Connection, *, seq: int, limit: int) -> list[Row[Any]]:
    """The latest version of each record changed after log position `seq`, in log order."""
    stmt = select(records).where(records.c.seq > seq).order_by(records.c.seq).limit(limit)
    return list(conn.execute(stmt))


def feed_since(conn: Connection, *, seq: int, limit: int) -> list[Row[Any]]:
    """`changes_since` as the outbox ships it: WIRE_COLUMNS then seq, with the id and data as
    the text the database holds (the data is embedded in the batch as it is, never decoded and
    encoded again)."""
    as_text = {"id": String, "data": Text}
    wire = [cast(c, as_text[c.key]).label(c.key) if c.key in as_text else c for c in WIRE_COLUMNS]
    stmt = select(*wire, records.c.seq).where(records.c.seq > seq).order_by(records.c.seq)
    return list(conn.execute(stmt.limit(limit)))


def max_seq(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(records.c.seq), 0))).scalar_one()


def live_counts_by_kind(conn: Connection, root: str) -> dict[str, int]:
    stmt = (
        select(unit_counts.c.kind, func.sum(unit_counts.c.live))
        .where(in_subtree(unit_counts.c.unit, root))
        .group_by(unit_counts.c.kind)
    )
    return {kind: int(n) for kind, n in conn.execute(stmt) if n}


def live_counts_by_child(conn: Connection, root: str, child_len: int) -> dict[str, dict[str, int]]:
    """Live counts per kind for each child prefix of length `child_len` under `root`."""
    child = func.substr(unit_counts.c.unit, 1, child_len)
    stmt = (
        select(child.label("child"), unit_counts.c.kind, func.sum(unit_counts.c.live))
        .where(in_subtree(unit_counts.c.unit, root), func.length(unit_counts.c.unit) >= child_len)
        .group_by(child, unit_counts.c.kind)
    )
    out: dict[str, dict[str, int]] = {}
    for code, kind, n in conn.execute(stmt):
        if n:
            out.setdefault(code, {})[kind] = int(n)
    return out


def add_conflicts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Log lost versions once each: a resent batch must not repeat an entry."""
    if not rows:
        return
    stmt = select(conflicts.c.record_id, conflicts.c.lost_version).where(
        conflicts.c.record_id.in_({row["record_id"] for row in rows})
    )
    known = {(rid, version) for rid, version in conn.execute(stmt)}
    fresh = []
    for row in rows:
        key = (row["record_id"], row["lost_version"])
        if key not in known:
            known.add(key)
            fresh.append(row)
    if fresh:
        conn.execute(conflicts.insert(), fresh)


def list_conflicts(conn: Connection, limit: int = 1000) -> list[Row[Any]]:
    return list(conn.execute(select(conflicts).order_by(conflicts.c.id.desc()).limit(limit)))
