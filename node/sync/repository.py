"""SQL for replication state: child cursors, batch marks, upstream link, quarantine."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update

from federation.hlc import parse_version
from node.db import upsert_insert
from node.models import BatchMark, ChildSync, Quarantined, Upstream, table

child_sync = table(ChildSync)
batch_marks = table(BatchMark)
upstream = table(Upstream)
quarantine = table(Quarantined)
# Built once, the statements of every request and every idle round (a held poll's push cursor,
# the replicator's state): building a select costs several times what running it costs here.
_child_cursor = select(child_sync.c.cursor).where(child_sync.c.code == bindparam("code"))
_upstream = select(upstream).where(upstream.c.id == 1)


def child_cursor(conn: Connection, code: str) -> int:
    cursor = conn.execute(_child_cursor, {"code": code}).scalar()
    return int(cursor or 0)


def save_child_push(
    conn: Connection, *, code: str, cursor: int, at: datetime, received: int, protocol: int
) -> None:
    values = {"cursor": cursor, "last_push_at": at, "protocol": protocol}
    done = conn.execute(
        update(child_sync)
        .where(child_sync.c.code == code)
        .values(**values, records_received=child_sync.c.records_received + received)
    )
    if done.rowcount == 0:
        conn.execute(insert(child_sync).values(code=code, records_received=received, **values))


def children_sync(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(child_sync).order_by(child_sync.c.code)))


def add_batch_mark(conn: Connection, *, code: str, child_seq: int, local_seq: int) -> None:
    exists = conn.execute(
        select(batch_marks.c.local_seq).where(
            batch_marks.c.code == code, batch_marks.c.child_seq == child_seq
        )
    ).first()
    if exists is None:
        conn.execute(
            insert(batch_marks).values(code=code, child_seq=child_seq, local_seq=local_seq)
        )


def durable_child_seq(conn: Connection, *, code: str, local_durable: int) -> int:
    """The highest child position whose batch this node had applied by `local_durable`."""
    stmt = select(func.max(batch_marks.c.child_seq)).where(
        batch_marks.c.code == code, batch_marks.c.local_seq <= local_durable
    )
    return int(conn.execute(stmt).scalar() or 0)


def prune_batch_marks(conn: Connection, *, code: str, below: int) -> None:
    """Forget the child's marks below its durable position: `durable_child_seq` asks for the
    highest mark under a local position that only grows, so lower marks never answer again."""
    conn.execute(
        delete(batch_marks).where(batch_marks.c.code == code, batch_marks.c.child_seq < below)
    )


def get_upstream(conn: Connection) -> Row[Any] | None:
    return conn.execute(_upstream).first()


def save_upstream(conn: Connection, **values: Any) -> None:
    if conn.execute(update(upstream).where(upstream.c.id == 1).values(**values)).rowcount == 0:
        conn.execute(insert(upstream).values(id=1, **{"acked_seq": 0, "durable_seq": 0, **values}))


def lower_child_cursor(conn: Connection, *, code: str, cursor: int) -> int | None:
    """Lower a child's cursor (never raise it): its next push is answered 409 and resent.

    Returns the cursor now held, None when the child never pushed (nothing to rewind).
    """
    held = conn.execute(select(child_sync.c.cursor).where(child_sync.c.code == code)).scalar()
    if held is None:
        return None
    target = min(int(held), cursor)
    conn.execute(update(child_sync).where(child_sync.c.code == code).values(cursor=target))
    return target


def add_quarantined(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Keep each row unless its (child, record id, version) is held already (a resend)."""
    unique = list({(r["child"], r["record_id"], r["version"]): r for r in rows}.values())
    if unique:
        stmt = upsert_insert(conn, quarantine).on_conflict_do_nothing(
            index_elements=["child", "record_id", "version"]
        )
        conn.execute(stmt, unique)


def quarantined_rows(conn: Connection, ids: list[int] | None = None) -> list[Row[Any]]:
    stmt = select(quarantine).order_by(quarantine.c.id)
    if ids is not None:
        stmt = stmt.where(quarantine.c.id.in_(ids))
    return list(conn.execute(stmt))


def delete_quarantined(conn: Connection, ids: list[int]) -> int:
    if not ids:
        return 0
    return int(conn.execute(delete(quarantine).where(quarantine.c.id.in_(ids))).rowcount or 0)


def children_quarantined_for(conn: Connection, reason_prefix: str) -> set[str]:
    """The children with a quarantine entry whose reason starts with `reason_prefix`."""
    stmt = select(quarantine.c.child).where(quarantine.c.reason.startswith(reason_prefix))
    return set(conn.execute(stmt.distinct()).scalars())


def quarantined_for(conn: Connection, reason_prefix: str) -> list[tuple[int, str]]:
    """(id, version) of every entry whose reason starts with `reason_prefix`."""
    stmt = select(quarantine.c.id, quarantine.c.version).where(
        quarantine.c.reason.startswith(reason_prefix)
    )
    return [(int(r.id), str(r.version)) for r in conn.execute(stmt.order_by(quarantine.c.id))]


def lowest_quarantined_version(conn: Connection, code: str) -> str | None:
    """The lowest version string of the child's quarantine entries (fixed-width hex: string
    order is HLC order for every well-formed one), None when it has none."""
    stmt = select(func.min(quarantine.c.version)).where(quarantine.c.child == code)
    found = conn.execute(stmt).scalar()
    return None if found is None else str(found)


def quarantined_versions(conn: Connection, code: str) -> list[str]:
    stmt = select(quarantine.c.version).where(quarantine.c.child == code)
    return [str(v) for v in conn.execute(stmt).scalars()]


def held_durable(conn: Connection, *, code: str, durable: int) -> int:
    """`durable` kept below the child's lowest version held in this node's quarantine.

    A quarantined version is not held here, so no ancestor holds it: the child must not
    collect it (a deletion held as `clock ahead` and then released would be lost above,
    docs/decisions/0702). A version's log position at the child is above its HLC (every node
    observes a version before it logs it), so positions below that HLC are safe to report.
    Entries without a well-formed version hold nothing back (their origin is unknown).
    """
    lowest = lowest_quarantined_version(conn, code)
    if lowest is None:
        return durable
    try:
        hlcs = [parse_version(lowest)[0]]
    except ValueError:  # a malformed version sorts anywhere: look at each
        hlcs = []
        for version in quarantined_versions(conn, code):
            try:
                hlcs.append(parse_version(version)[0])
            except ValueError:
                continue
    return min(durable, min(hlcs) - 1) if hlcs else durable


def quarantined_of_records(conn: Connection, ids: list[Any]) -> list[Row[Any]]:
    """(id, record_id, version) of the entries holding a version of one of these records."""
    if not ids:
        return []
    stmt = select(quarantine.c.id, quarantine.c.record_id, quarantine.c.version)
    return list(conn.execute(stmt.where(quarantine.c.record_id.in_(ids))))


def quarantined_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())


def list_quarantined(conn: Connection, *, offset: int = 0, limit: int = 1000) -> list[Row[Any]]:
    stmt = select(quarantine).order_by(quarantine.c.id.desc()).offset(offset).limit(limit)
    return list(conn.execute(stmt))
