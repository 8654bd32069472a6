"""SQL for records, the change feed and the conflict log. Nothing else builds record SQL: the
other packages (views, directives, digests, bundles, ops) ask these functions."""

import uuid
from collections import namedtuple
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

from node.db import ID_CHUNK, SEALER_OPTION, execute_many, upsert_insert
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


def _sealer(conn: Connection) -> Any:
    """The node's sealer of sensitive fields (node/privacy, federation/privacy/sealing.py), or
    None: rows are written and read as they are."""
    return conn.get_execution_options().get(SEALER_OPTION)


_ROW_TYPES: dict[tuple[str, ...], type] = {}
_SEALED_MARK = '"enc:'


def _row_type(fields: tuple[str, ...]) -> type:
    """A tuple type with the fields of a result row, read by name and position alike."""
    known = _ROW_TYPES.get(fields)
    if known is None:
        base = namedtuple("OpenedRow", fields, rename=True)  # type: ignore[misc]
        known = _ROW_TYPES[fields] = type(
            "OpenedRow",
            (base,),
            {"_mapping": property(lambda r: dict(zip(fields, r, strict=True)))},
        )
    return known


def _opened(
    conn: Connection, rows: Sequence[Any], kind: str | None = None, *, parsed: bool = False
) -> list[Any]:
    """`rows` with the sealed fields of their data opened (rows without a sealed field, and
    kinds with none, are the rows themselves). Data read as JSON text stays text, unless
    `parsed` (the outbox): then an opened row is a plain tuple, its data the opened dict (not
    encoded again)."""
    sealer = _sealer(conn)
    if sealer is None or not rows:
        return rows if isinstance(rows, list) else list(rows)  # `.all()` gives a list: no copy
    fields = tuple(rows[0]._fields)  # the rows of one query: one shape, read once
    at_data, at_id = fields.index("data"), fields.index("id")
    at_kind = None if kind else fields.index("kind")
    opened_row = _row_type(fields)
    out = []
    for row in rows:
        of = kind or row[at_kind]
        data = row[at_data]
        if of not in sealer.kinds or (isinstance(data, str) and _SEALED_MARK not in data):
            out.append(row)
            continue
        if isinstance(data, str):
            data = sealer.open(of, row[at_id], orjson.loads(data))
            if parsed:  # the outbox's feed, read by position only: a plain tuple will do
                out.append((*row[:at_data], data, *row[at_data + 1 :]))
                continue
            data = orjson.dumps(data).decode()
        else:
            data = sealer.open(of, row[at_id], data)
        values = list(row)
        values[at_data] = data
        out.append(opened_row(*values))
    return out


def _sealed_rows(sealer: Any, rows: list[dict[str, Any]]) -> None:
    """Seal the sensitive fields of rows about to be written, and set their ID hash."""
    for row in rows:
        kind = row["kind"]
        if kind in sealer.kinds:
            row["id_hash"] = sealer.id_hash(kind, row["data"])
            row["data"] = sealer.seal(kind, row["id"], row["data"])
        else:
            row["id_hash"] = None


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
        rows = list(conn.execute(stmt, {"ids": orjson.dumps([i.hex for i in ids]).decode()}))
    else:
        rows = []
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            rows += conn.execute(select(*selected).where(records.c.id.in_(chunk)))
    if records.c.data in selected:
        rows = _opened(conn, rows)
    return {row.id: row for row in rows}


def _sqlite_has_json(conn: Connection) -> bool:
    """JSON functions are built into SQLite from 3.38 (and into most builds before it)."""
    return bool(conn.dialect.dbapi and conn.dialect.dbapi.sqlite_version_info >= (3, 38))


def save_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new record rows and replace held ones (same keys in every row), in one call."""
    if not rows:
        return
    rows = sorted(rows, key=lambda row: row["id"].int)  # in key order: fewer index pages touched
    sealer = _sealer(conn)
    if sealer is not None:
        _sealed_rows(sealer, rows)
    stmt = upsert_insert(conn, records)
    replaced = {name: stmt.excluded[name] for name in rows[0] if name != "id"}
    execute_many(
        conn, stmt.on_conflict_do_update(index_elements=[records.c.id], set_=replaced), rows
    )


def get_row(conn: Connection, record_id: uuid.UUID) -> Row[Any] | None:
    row = conn.execute(select(records).where(records.c.id == record_id)).first()
    return _opened(conn, [row])[0] if row is not None else None


def list_page(
    conn: Connection,
    *,
    kind: str | None,
    unit: str,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
    tombstones: bool = False,
    id_hash: str | None = None,
) -> list[Row[Any]]:
    """Records of a subtree (live ones, or all with `tombstones`) in (unit, id) order: keyset
    pagination stable under writes. `id_hash`: only those of that ID number (its index)."""
    stmt = select(records).where(in_subtree(records.c.unit, unit))
    if id_hash is not None:
        stmt = stmt.where(records.c.id_hash == id_hash)
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
    return _opened(
        conn, list(conn.execute(stmt.order_by(records.c.unit, records.c.id).limit(limit)))
    )


def changes_since(conn: Connection, *, seq: int, limit: int) -> list[Row[Any]]:
    """The latest version of each record changed after log position `seq`, in log order."""
    stmt = select(records).where(records.c.seq > seq).order_by(records.c.seq).limit(limit)
    return _opened(conn, list(conn.execute(stmt)))


def feed_since(conn: Connection, *, seq: int, limit: int) -> list[Row[Any]]:
    """`changes_since` as the outbox ships it: WIRE_COLUMNS, seq, the data's length (for the
    batch's byte bound), then the ID hash (what a projection takes instead of hashing the ID
    number again), with the id and data as the text the database holds (the data is embedded
    in the batch as it is, never decoded and encoded again). The data of a row with sealed
    fields is the opened dict: it is parsed once, to open it (and project it)."""
    as_text = {"id": String, "data": Text}
    wire = [cast(c, as_text[c.key]).label(c.key) if c.key in as_text else c for c in WIRE_COLUMNS]
    size = func.length(wire[3]).label("size")
    stmt = (
        select(*wire, records.c.seq, size, records.c.id_hash)
        .where(records.c.seq > seq)
        .order_by(records.c.seq)
    )
    rows = conn.execute(stmt.limit(limit)).all()  # fetchall: not a fetchone per row
    return _opened(conn, rows, parsed=True)


def max_seq(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(records.c.seq), 0))).scalar_one()


_KIND_FEED = (records.c.id, records.c.unit, records.c.data, records.c.deleted, records.c.seq,
              records.c.updated_at)  # fmt: skip


def kind_since(conn: Connection, *, kind: str, seq: int, limit: int) -> list[Row[Any]]:
    """Versions of one kind stored after log position `seq`, in log order (the live feed).
    `kind || ''` keeps the planner on the seq index: on `kind = ?` alone SQLite takes the
    (kind, unit, id) index and sorts every record of the kind to find the few new ones."""
    stmt = select(*_KIND_FEED).where(records.c.seq > seq, records.c.kind + literal("") == kind)
    return _opened(conn, list(conn.execute(stmt.order_by(records.c.seq).limit(limit))), kind)


def kind_latest_in(conn: Connection, *, kind: str, root: str, limit: int) -> list[Row[Any]]:
    """The latest versions of one kind in a subtree, newest first (deleted ones included)."""
    stmt = select(*_KIND_FEED).where(records.c.kind == kind, in_subtree(records.c.unit, root))
    return _opened(conn, list(conn.execute(stmt.order_by(records.c.seq.desc()).limit(limit))), kind)


def kind_in_since(
    conn: Connection, *, kind: str, root: str, seq: int, limit: int
) -> list[Row[Any]]:
    """Versions of one kind in a subtree stored after log position `seq`, in log order."""
    stmt = select(*_KIND_FEED).where(
        records.c.kind == kind, in_subtree(records.c.unit, root), records.c.seq > seq
    )
    return _opened(conn, list(conn.execute(stmt.order_by(records.c.seq).limit(limit))), kind)


def count(conn: Connection) -> int:
    """Every record held, tombstones included."""
    return int(conn.execute(select(func.count()).select_from(records)).scalar_one())


def max_hlc_of_origin(conn: Connection, *, origin: str) -> int:
    """The highest HLC of a version made by `origin` held here (0 for none); a range scan of
    the origin's subtree by unit, as its records lie there."""
    stmt = select(func.max(records.c.hlc)).where(
        in_subtree(records.c.unit, origin), records.c.origin == origin
    )
    return int(conn.execute(stmt).scalar_one() or 0)


def made_by_after(
    conn: Connection, *, origin: str, seq: int, hlc_above: int, hlc_upto: int
) -> list[Row[Any]]:
    """The records `origin` itself made at a log position after `seq`, with an HLC above
    `hlc_above` and at most `hlc_upto`, their data in clear: stored again, each is sealed
    afresh and keeps its ID hash (the sealed form has no ID number to hash)."""
    stmt = select(records).where(
        records.c.seq > seq,
        records.c.origin == origin,
        records.c.hlc > hlc_above,
        records.c.hlc <= hlc_upto,
    )
    return _opened(conn, list(conn.execute(stmt)))


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
    return _opened(conn, list(conn.execute(stmt.order_by(records.c.id).limit(limit))))


def scan_versions(conn: Connection, *, live: bool = False) -> Iterator[tuple[Any, str, int, str]]:
    """(id, kind, hlc, origin) of every record (`live`: but tombstones), streamed; id as the
    driver returns it."""
    where = " WHERE NOT deleted" if live else ""
    result = conn.exec_driver_sql(f"SELECT id, kind, hlc, origin FROM records{where}")
    while True:
        chunk = result.fetchmany(20_000)
        if not chunk:
            return
        yield from chunk


def versions_in_range(
    conn: Connection, *, root: str, kind: str, lo: uuid.UUID, hi: uuid.UUID | None
) -> list[Row[Any]]:
    """(id, hlc, origin, deleted) of records of `kind` made in `root`'s subtree with
    lo <= id < hi."""
    # `kind || ''` keeps the planner on the primary key range: with a plain `kind = ?` SQLite
    # prefers the (kind, unit, id) index and reads every record of the kind.
    stmt = select(records.c.id, records.c.hlc, records.c.origin, records.c.deleted).where(
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
    return _opened(conn, list(conn.execute(stmt)))


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


def list_conflicts(conn: Connection, *, offset: int = 0, limit: int = 1000) -> list[Row[Any]]:
    """Lost versions, newest first, with the kind of their record (to mask their data)."""
    stmt = (
        select(conflicts, records.c.kind)
        .outerjoin(records, records.c.id == conflicts.c.record_id)
        .order_by(conflicts.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def conflict_losers(conn: Connection) -> list[Row[Any]]:
    """(record_id, lost_version, lost_deleted, lost_unit) of every logged lost version."""
    stmt = select(
        conflicts.c.record_id, conflicts.c.lost_version, conflicts.c.lost_deleted,
        conflicts.c.lost_unit,
    )  # fmt: skip
    return list(conn.execute(stmt))


def id_hashes_in(conn: Connection, *, kind: str, root: str) -> list[Row[Any]]:
    """(id_hash, unit, id) of the live records of `kind` in `root`'s subtree that have one,
    by hash: what the duplicate finder groups."""
    stmt = select(records.c.id_hash, records.c.unit, records.c.id).where(
        records.c.kind == kind,
        in_subtree(records.c.unit, root),
        records.c.deleted.is_(False),
        records.c.id_hash.is_not(None),
    )
    return list(conn.execute(stmt.order_by(records.c.id_hash, records.c.unit)))


def conflicts_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(conflicts)).scalar_one())
