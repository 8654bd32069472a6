"""Collecting tombstones once every ancestor holds them (docs/decisions/0702).

A node drops a tombstone whose log position is at or below its durable position — the part of
its log every ancestor holds, from its parent's acks — and raises the tombstone's origin's
horizon to its HLC in the same transaction. At the top there is no ancestor: a tombstone goes
once it has been held there for `TIERSYNC_TOMBSTONE_RETENTION_S` (log positions are HLCs, so
its position says when it was stored); `0` keeps them for ever. What the horizon does: the
stale rule of node/records/store.py and the standing (`issued`) of node/sync/receive.py.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row

from federation.hlc import LOGICAL_BITS, parse_version
from node.context import NodeContext
from node.db import Database
from node.records import horizons
from node.sync import repository as sync_repo

BATCH = 5000  # tombstones per transaction: the write lock is held briefly


@dataclass(frozen=True)
class Collected:
    tombstones: int  # dropped in this run
    upto_seq: int  # the log position they were collected up to (0: nothing may go yet)


def collect_upto(db: Database, *, has_parent: bool, retention_s: float) -> int:
    """The highest log position whose tombstones may go now (0: none)."""
    if has_parent:
        with db.read() as conn:
            own = sync_repo.get_upstream(conn)
        return int(own.durable_seq) if own else 0
    if retention_s <= 0:
        return 0  # the top keeps its tombstones for ever
    cutoff_ms = db.clock() - int(retention_s * 1000)
    return max(0, ((cutoff_ms + 1) << LOGICAL_BITS) - 1)


def collect(db: Database, *, has_parent: bool, retention_s: float, batch: int = BATCH) -> Collected:
    """Drop every tombstone that may go, a batch per transaction, raising the horizons."""
    upto = collect_upto(db, has_parent=has_parent, retention_s=retention_s)
    dropped = 0
    while upto > 0:
        with db.write(notify=False) as txn:  # nothing enters the log: no push to wake
            rows = horizons.collectable(txn.conn, upto_seq=upto, limit=batch)
            raised: dict[str, tuple[int, int]] = {}
            for row in rows:
                hlc, count = raised.get(row.origin, (0, 0))
                raised[row.origin] = (max(hlc, int(row.hlc)), count + 1)
            horizons.raise_horizons(txn.conn, raised, txn.now)
            dropped += horizons.drop_tombstones(txn.conn, [r.id for r in rows], upto_seq=upto)
            _settle_quarantined(txn.conn, rows)
        if len(rows) < batch:
            break
    return Collected(tombstones=dropped, upto_seq=upto)


def _settle_quarantined(conn: Connection, tombstones: list[Row[Any]]) -> None:
    """Drop the quarantine entries older than a tombstone collected now: a retry would have
    found them stale against it, and it does not judge them by the horizon (store_versions)."""
    deleted = {row.id: (int(row.hlc), row.origin) for row in tombstones}
    older = []
    for entry in sync_repo.quarantined_of_records(conn, list(deleted)):
        try:
            version = parse_version(entry.version)
        except ValueError:
            continue
        if version < deleted[entry.record_id]:
            older.append(int(entry.id))
    sync_repo.delete_quarantined(conn, older)


def collect_here(ctx: NodeContext) -> Collected:
    """One collection run at this node, by its settings."""
    return collect(
        ctx.db,
        has_parent=bool(ctx.settings.parent_url),
        retention_s=ctx.settings.tombstone_retention_s,
    )
