"""SQL of the operator tools: digest rows, version ranges, child reports, bundles, exports."""

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update

from node.db import upsert_insert
from node.models import ChildSync, Quarantined, Record, Unit, table
from node.ops.models import BundleEntry, ChildReport, DigestBucket
from node.records.repository import in_subtree

digests = table(DigestBucket)
reports = table(ChildReport)
bundles = table(BundleEntry)
records = table(Record)
units = table(Unit)
quarantine = table(Quarantined)
child_sync = table(ChildSync)
MOD = 1 << 40  # digest sums are kept modulo 2**40, so any SUM of rows stays far from 2**63
_ID_CHUNK = 900

Delta = dict[tuple[str, str, int], list[int]]


def add_digest_deltas(conn: Connection, deltas: Delta) -> None:
    """Add (count, hash sum) deltas to digest rows, one upsert per write."""
    rows = [
        {"origin": o, "kind": k, "bucket": b, "count": c, "total": s % MOD}
        for (o, k, b), (c, s) in deltas.items()
        if c or s % MOD
    ]
    if not rows:
        return
    stmt = upsert_insert(conn, digests)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[digests.c.origin, digests.c.kind, digests.c.bucket],
            set_={
                "count": digests.c.count + stmt.excluded.count,
                "total": (digests.c.total + stmt.excluded.total) % MOD,
            },
        ),
        rows,
    )


def replace_digests(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(delete(digests))
    if rows:
        conn.execute(insert(digests), rows)


def all_digest_rows(conn: Connection) -> dict[tuple[str, str, int], tuple[int, int]]:
    stmt = select(
        digests.c.origin, digests.c.kind, digests.c.bucket, digests.c.count, digests.c.total
    )
    return {(o, k, b): (int(c), int(t)) for o, k, b, c, t in conn.execute(stmt)}


def scan_versions(conn: Connection) -> Iterator[tuple[Any, str, int, str]]:
    """(id, kind, hlc, origin) of every record, streamed; id as the driver returns it."""
    result = conn.exec_driver_sql("SELECT id, kind, hlc, origin FROM records")
    while True:
        chunk = result.fetchmany(20_000)
        if not chunk:
            return
        yield from chunk


def digest_by_kind(conn: Connection, root: str) -> dict[str, tuple[int, int]]:
    stmt = (
        select(digests.c.kind, func.sum(digests.c.count), func.sum(digests.c.total))
        .where(in_subtree(digests.c.origin, root))
        .group_by(digests.c.kind)
    )
    return {k: (int(c), int(t) % MOD) for k, c, t in conn.execute(stmt) if c}


def digest_by_bucket(
    conn: Connection, root: str, kind: str, *, shift: int, lo: int, hi: int
) -> dict[int, tuple[int, int]]:
    """Kept digests of buckets lo <= bucket < hi, summed by (bucket >> shift)."""
    group = digests.c.bucket.op(">>")(shift) if shift else digests.c.bucket
    stmt = (
        select(group, func.sum(digests.c.count), func.sum(digests.c.total))
        .where(
            in_subtree(digests.c.origin, root),
            digests.c.kind == kind,
            digests.c.bucket >= lo,
            digests.c.bucket < hi,
        )
        .group_by(group)
    )
    return {int(b): (int(c), int(t) % MOD) for b, c, t in conn.execute(stmt) if c}


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


def rows_by_ids(conn: Connection, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    out: list[Row[Any]] = []
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        out += conn.execute(select(records).where(records.c.id.in_(chunk))).all()
    return out


def export_page(
    conn: Connection, *, root: str, after: tuple[str, uuid.UUID] | None, limit: int
) -> list[Row[Any]]:
    """Every record (tombstones too) whose unit is in `root`'s subtree, in (unit, id) order."""
    stmt = select(records).where(in_subtree(records.c.unit, root))
    if after is not None:
        unit, rid = after
        stmt = stmt.where(
            or_(records.c.unit > unit, and_(records.c.unit == unit, records.c.id > rid))
        )
    return list(conn.execute(stmt.order_by(records.c.unit, records.c.id).limit(limit)))


def units_below(conn: Connection, root: str) -> list[Row[Any]]:
    return list(conn.execute(select(units).where(in_subtree(units.c.code, root))))


def pending_count(conn: Connection, *, after: int, root: str) -> int:
    """Records and registry entries this node would still push (made in its own subtree)."""
    recs = select(func.count()).where(records.c.seq > after, in_subtree(records.c.origin, root))
    regs = select(func.count()).where(units.c.seq > after)
    return int(conn.execute(recs).scalar_one()) + int(conn.execute(regs).scalar_one())


def quarantined_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())


def max_hlc_in(conn: Connection, root: str) -> int:
    stmt = select(func.coalesce(func.max(records.c.hlc), 0)).where(
        in_subtree(records.c.origin, root)
    )
    return int(conn.execute(stmt).scalar_one())


def get_report(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(select(reports).where(reports.c.code == code)).first()


def all_reports(conn: Connection) -> dict[str, Row[Any]]:
    return {r.code: r for r in conn.execute(select(reports))}


def save_report(conn: Connection, code: str, **values: Any) -> None:
    if conn.execute(update(reports).where(reports.c.code == code).values(**values)).rowcount:
        return
    defaults = {"head": 0, "until": 0, "verify_requested": False}
    conn.execute(insert(reports).values(code=code, **{**defaults, **values}))


def add_bundle(conn: Connection, **values: Any) -> None:
    conn.execute(insert(bundles).values(**values))


def find_bundle(conn: Connection, *, sha256: str, action: str) -> Row[Any] | None:
    stmt = select(bundles).where(bundles.c.sha256 == sha256, bundles.c.action == action)
    return conn.execute(stmt).first()


def pending_exports(conn: Connection) -> list[Row[Any]]:
    stmt = select(bundles).where(
        bundles.c.action == "export", bundles.c.direction == "up", bundles.c.acked.is_(False)
    )
    return list(conn.execute(stmt.order_by(bundles.c.id)))


def ack_exports(conn: Connection, *, upto: int) -> None:
    conn.execute(
        update(bundles)
        .where(bundles.c.action == "export", bundles.c.until <= upto)
        .values(acked=True)
    )


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


def from_above(conn: Connection, *, root: str) -> list[Row[Any]]:
    """Records about `root`'s subtree made outside it (sent down: directives and the like)."""
    stmt = select(records).where(
        in_subtree(records.c.unit, root), ~in_subtree(records.c.origin, root)
    )
    return list(conn.execute(stmt))
