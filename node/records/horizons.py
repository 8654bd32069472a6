"""SQL of tombstone collection: the per-origin horizons and the tombstones that may go
(node/tombstones, docs/decisions/0702)."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select

from node.db import upsert_insert
from node.models import ConflictEntry, Record, TombstoneHorizon, table
from schemas.kinds import FEDERATION_KINDS

records = table(Record)
conflicts = table(ConflictEntry)
horizons = table(TombstoneHorizon)
_KEPT_KINDS = [k.value for k in FEDERATION_KINDS]


def horizons_of(conn: Connection, origins: Iterable[str]) -> dict[str, int]:
    """origin → horizon HLC, for those of `origins` that have one."""
    wanted = sorted(set(origins))
    if not wanted:
        return {}
    stmt = select(horizons.c.origin, horizons.c.hlc).where(horizons.c.origin.in_(wanted))
    return {o: int(h) for o, h in conn.execute(stmt)}


def horizons_in(conn: Connection, root: str) -> dict[str, int]:
    """origin → horizon HLC for every origin of `root`'s subtree (codes are prefixes)."""
    stmt = select(horizons.c.origin, horizons.c.hlc).where(horizons.c.origin.startswith(root))
    return {o: int(h) for o, h in conn.execute(stmt)}


def all_horizons(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(horizons).order_by(horizons.c.origin)))


def collectable(conn: Connection, *, upto_seq: int, limit: int) -> list[Row[Any]]:
    """(id, origin, hlc) of tombstones at log positions ≤ `upto_seq`, oldest first.

    Directives and receipts keep theirs (their indexes refer to them), and so does an id of
    the conflict log (whether its conflict stands is judged from the head held).
    """
    stmt = (
        select(records.c.id, records.c.origin, records.c.hlc)
        .where(
            records.c.seq <= upto_seq,
            records.c.deleted.is_(True),
            records.c.kind.not_in(_KEPT_KINDS),
            records.c.id.not_in(select(conflicts.c.record_id)),
        )
        .order_by(records.c.seq)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def drop_tombstones(conn: Connection, ids: list[Any], *, upto_seq: int) -> int:
    """Delete these tombstones (still tombstones at or below `upto_seq`: nothing newer)."""
    if not ids:
        return 0
    stmt = delete(records).where(
        records.c.id.in_(ids), records.c.deleted.is_(True), records.c.seq <= upto_seq
    )
    return int(conn.execute(stmt).rowcount or 0)


def raise_horizons(conn: Connection, raised: dict[str, tuple[int, int]], at: datetime) -> None:
    """origin → (highest HLC collected, how many): each horizon only moves up."""
    rows = [
        {"origin": o, "hlc": h, "collected": n, "at": at} for o, (h, n) in sorted(raised.items())
    ]
    if not rows:
        return
    stmt = upsert_insert(conn, horizons)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[horizons.c.origin],
            set_={
                "hlc": func.max(horizons.c.hlc, stmt.excluded.hlc)
                if conn.dialect.name == "sqlite"
                else func.greatest(horizons.c.hlc, stmt.excluded.hlc),
                "collected": horizons.c.collected + stmt.excluded.collected,
                "at": stmt.excluded.at,
            },
        ),
        rows,
    )


def tombstones_held(conn: Connection) -> int:
    stmt = select(func.count()).select_from(records).where(records.c.deleted.is_(True))
    return int(conn.execute(stmt).scalar_one())


def collected_total(conn: Connection) -> int:
    """How many tombstones this node has collected, over all origins."""
    return int(conn.execute(select(func.sum(horizons.c.collected))).scalar() or 0)
