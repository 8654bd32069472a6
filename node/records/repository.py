"""SQL for records, the change feed and the conflict log. Nothing else builds record SQL: the
other packages (views, directives, digests, bundles, ops) ask these functions."""

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Row,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
)

from node.db import ID_CHUNK, execute_many, upsert_insert
from node.models import ConflictEntry, Record, table
from schemas.codes import subtree_upper_bound

records = table(Record)
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


def in_subtree(column: Any, root: str) -> Any:
    """An index-friendly range test for "column is root or below it"."""
    return and_(column >= root, column < subtree_upper_bound(root))


def fetch_heads(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """The current head (kind, unit, version, deleted) of each id this node holds."""
    return rows_by_ids(conn, ids, columns=_HEAD_COLUMNS)


def rows_by_ids(
    conn: Connection, ids: Sequence[uuid.UUID], *, columns: Sequence[Any] | None = None
) -> dict[uuid.UUID, Any]:
    """The rows (all columns, or `columns`, which must include the id) of the ids held here."""
    selected = tuple(columns) if columns is not None else tuple(records.c)
    if not ids:
        return {}
    if conn.dialect.name == "sqlite" and _sqlite_has_json(conn):
        # One parameter, a JSON array of the ids as SQLite stores them: three times faster than
        # IN lists of 900 parameters, the bound on old SQLite builds.
        listed = select(func.json_each(bindparam("ids")).table_valued("value").c.value)
        stmt = select(*selected).where(records.c.id.in_(listed))
        rows = conn.execute(stmt, {"ids": orjson.dumps([i.hex for i in ids]).decode()})
        return {row.id: row for row in rows}
    found: dict[uuid.UUID, Any] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        for row in conn.execute(select(*selected).where(records.c.id.in_(chunk))):
            found[row.id] = row
    return found


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


def get_row(conn: Connection, record_id: uuid.UUID) -> Row[Any] | None:
    return conn.execute(select(records).where(records.c.id == record_id)).first()


def list_page(
    conn: Connection,
    *,
    kind: str | None,
    unit: str,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
    tombstones: bool = False,
) -> list[Row[Any]]:
    """Records of a subtree (live ones, or all with `tombstones`) in (unit, id) order: keyset
    pagination stable under writes."""
    stmt = select(records).where(in_subtree(records.c.unit, unit))
    if not tombstones:
        stmt = stmt.where(records.c.deleted.is_(False))
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


_KIND_FEED = (records.c.id, records.c.unit, records.c.data, records.c.deleted, records.c.seq,
              records.c.updated_at)  # fmt: skip


def kind_since(conn: Connection, *, kind: str, seq: int, limit: int) -> list[Row[Any]]:
    """Versions of one kind stored after log position `seq`, in log order (the live feed).
    `kind || ''` keeps the planner on the seq index: on `kind = ?` alone SQLite takes the
    (kind, unit, id) index and sorts every record of the kind to find the few new ones."""
    stmt = select(*_KIND_FEED).where(records.c.seq > seq, records.c.kind + literal("") == kind)
    return list(conn.execute(stmt.order_by(records.c.seq).limit(limit)))


def kind_latest_in(conn: Connection, *, kind: str, root: str, limit: int) -> list[Row[Any]]:
    """The latest versions of one kind in a subtree, newest first (deleted ones included)."""
    stmt = select(*_KIND_FEED).where(records.c.kind == kind, in_subtree(records.c.unit, root))
    return list(conn.execute(stmt.order_by(records.c.seq.desc()).limit(limit)))


def kind_in_since(
    conn: Connection, *, kind: str, root: str, seq: int, limit: int
) -> list[Row[Any]]:
    """Versions of one kind in a subtree stored after log position `seq`, in log order."""
    stmt = select(*_KIND_FEED).where(
        records.c.kind == kind, in_subtree(records.c.unit, root), records.c.seq > seq
    )
    return list(conn.execute(stmt.order_by(records.c.seq).limit(limit)))


def count(conn: Connection) -> int:
    """Every record held, tombstones included."""
    return int(conn.execute(select(func.count()).select_from(records)).scalar_one())


def count_made_in_after(conn: Connection, *, root: str, seq: int) -> int:
    """Records made in `root`'s subtree changed after log position `seq` (what would go up)."""
    stmt = select(func.count()).where(records.c.seq > seq, in_subtree(records.c.origin, root))
    return int(conn.execute(stmt).scalar_one())


def live_page(conn: Connection, *, after: uuid.UUID | None, limit: int) -> list[Row[Any]]:
    """(id, kind, unit, data) of live records in id order (rebuilding what is derived)."""
    stmt = select(records.c.id, records.c.kind, records.c.unit, records.c.data).where(
        records.c.deleted.is_(False)
    )
    if after is not None:
        stmt = stmt.where(records.c.id > after)
    return list(conn.execute(stmt.order_by(records.c.id).limit(limit)))


def scan_versions(conn: Connection) -> Iterator[tuple[Any, str, int, str]]:
    """(id, kind, hlc, origin) of every record, streamed; id as the driver returns it."""
    result = conn.exec_driver_sql("SELECT id, kind, hlc, origin FROM records")
    while True:
        chunk = result.fetchmany(20_000)
        if not chunk:
            return
        yield from chunk


def versions_in_range(
    conn: Connection, *, root: str, kind: str, lo: uuid.UUID, hi: uuid.UUID | None
) -> list[Row[Any]]:
    """(id, hlc, origin) of records of `kind` made in `root`'s subtree with lo <= id < hi."""
    # `kind || ''` keeps the planner on the primary key range: with a plain `kind = ?` SQLite
    # prefers the (kind, unit, id) index and reads every record of the kind.
    stmt = select(records.c.id, records.c.hlc, records.c.origin).where(
        records.c.id >= lo, records.c.kind.concat("") == kind, in_subtree(records.c.origin, root)
    )
    if hi is not None:
        stmt = stmt.where(records.c.id < hi)
    return list(conn.execute(stmt))


def made_above(conn: Connection, *, root: str) -> list[Row[Any]]:
    """Records about `root`'s subtree made outside it (sent down: directives and the like)."""
    stmt = select(records).where(
        in_subtree(records.c.unit, root), ~in_subtree(records.c.origin, root)
    )
    return list(conn.execute(stmt))


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
    """Lost versions, newest first, with the kind of their record (to mask their data)."""
    stmt = (
        select(conflicts, records.c.kind)
        .outerjoin(records, records.c.id == conflicts.c.record_id)
        .order_by(conflicts.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(stmt))


def conflicts_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(conflicts)).scalar_one())
