"""Storing versions of records: the one write path for local edits and replicated batches.

A version is kept only if it is newer than the one held, ordered by (HLC, origin node): applying
the same or an older version again is a no-op, which makes every receiver idempotent. Each kept
version gets a fresh log position (`seq`), so it moves on up the tree, and the per-unit roll-up
changes in the same transaction.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from node.db import WriteTxn
from node.records import repository


@dataclass(frozen=True)
class Version:
    id: uuid.UUID
    kind: str
    unit: str
    data: dict[str, Any]
    hlc: int
    origin: str
    deleted: bool
    schema_version: int

    def order_key(self) -> tuple[int, str]:
        return (self.hlc, self.origin)


@dataclass(frozen=True)
class StoreResult:
    stored: list[uuid.UUID]
    stale: list[uuid.UUID]


def store_versions(txn: WriteTxn, versions: list[Version]) -> StoreResult:
    """Keep each version that is newer than what this node holds; return which were kept.

    Callers pass at most one version per id (the latest they have).
    """
    heads = repository.fetch_heads(txn.conn, [v.id for v in versions])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deltas: Counter[tuple[str, str]] = Counter()
    stored: list[uuid.UUID] = []
    stale: list[uuid.UUID] = []
    for version in versions:
        head = heads.get(version.id)
        if head is not None and (head.hlc, head.origin) >= version.order_key():
            stale.append(version.id)
            continue
        txn.observe(version.hlc)
        row = {
            "id": version.id,
            "kind": version.kind,
            "unit": version.unit,
            "data": version.data,
            "hlc": version.hlc,
            "origin": version.origin,
            "deleted": version.deleted,
            "schema_version": version.schema_version,
            "seq": txn.tick(),
            "updated_at": txn.now,
        }
        if head is None:
            inserts.append(row)
        else:
            updates.append(row)
            if not head.deleted:
                deltas[(head.unit, head.kind)] -= 1
        if not version.deleted:
            deltas[(version.unit, version.kind)] += 1
        stored.append(version.id)
    repository.insert_rows(txn.conn, inserts)
    repository.update_rows(txn.conn, updates)
    repository.add_live_counts(txn.conn, dict(deltas))
    return StoreResult(stored=stored, stale=stale)
