"""Storing versions of records: the one write path for local edits and replicated batches.

A version is kept only if it is newer than the one held, ordered by (precedence, HLC, origin
node) — the precedence is 0 but for receipts, whose state only moves forward
(schemas.kinds.precedence): applying the same or an older version again is a no-op, which makes
every receiver idempotent. A version of an id not held, at or below its origin's collection
horizon, is stale too: its id may be one whose tombstone was collected here (docs/decisions/0702),
so a node restored from before the deletion cannot bring it back. Each kept version gets a
fresh log position (`seq`), so it moves on up the tree. The features that keep tables in step
with the records (views' roll-ups, the digest tree) see each batch through the write hooks
the node was wired with (node/seams.py, node/wiring.py), in the same transaction.
"""

import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from federation.hlc import format_version
from node.db import WriteTxn
from node.records import horizons as horizons_repo
from node.records import repository
from schemas.kinds import FEDERATION_KINDS, RANKED_KINDS, precedence


class Version(NamedTuple):
    """One version of a record (a tuple: a batch builds thousands of them)."""

    id: uuid.UUID
    kind: str
    unit: str
    data: dict[str, Any]
    hlc: int
    origin: str
    deleted: bool
    schema_version: int

    def order_key(self) -> tuple[int, int, str]:
        return (precedence(self.kind, self.data, self.deleted), self.hlc, self.origin)


Change = tuple[Version, Any]
"""A version kept by store_versions and the head row it replaces (None for a new record): what
the write hooks (node.seams.WriteHook) are given."""


@dataclass(frozen=True)
class StoreResult:
    stored: list[uuid.UUID]
    stale: list[uuid.UUID]


def store_versions(
    txn: WriteTxn,
    versions: list[Version],
    *,
    heads: dict[uuid.UUID, Any] | None = None,
    from_above: bool = False,
    horizons_judged: bool = False,
) -> StoreResult:
    """Keep each version that is newer than what this node holds; return which were kept.

    Callers pass at most one version per id (the latest they have). A caller that has just
    read the heads of these ids in the same transaction may pass them (`fetch_heads`).
    `from_above`: the versions are the parent's copy (a repair fetch, a rebuild, a down
    bundle), which holds no record deleted below, so the collection horizons do not apply:
    a node that lost rows gets them back even when it collected later tombstones.
    `horizons_judged`: the versions were held to the horizons when they arrived (a quarantine
    retry): a horizon raised since, by other ids' tombstones, does not make them stale.
    """
    if heads is None:
        heads = repository.fetch_heads(txn.conn, [v.id for v in versions])
    rows: list[dict[str, Any]] = []
    kept: list[Change] = []
    stale: list[uuid.UUID] = []
    lost: list[dict[str, Any]] = []
    txn.observe(max((v.hlc for v in versions), default=0))  # seqs below come after every one
    ranks = _head_ranks(txn, versions, heads)
    horizons = {} if from_above or horizons_judged else _horizons_of_new(txn, versions, heads)
    for version in versions:
        head = heads.get(version.id)
        if head is None and version.hlc <= horizons.get(version.origin, -1):
            stale.append(version.id)  # collected here: a restored node's old copy comes back
            continue
        if head is not None and (ranks.get(version.id, 0), head.hlc, head.origin) >= (
            version.order_key()
        ):
            stale.append(version.id)
            if head.origin != version.origin:
                lost.append(_lost(txn, kept=head, loser=version))
            continue
        if head is not None and head.origin != version.origin:
            lost.append(_lost(txn, kept=version, loser=head))
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
        rows.append(row)
        kept.append((version, head))
    if kept:
        for hook in txn.write_hooks:  # before the rows move: hooks may read what is replaced
            hook(txn, kept)
    repository.save_rows(txn.conn, rows)
    repository.add_conflicts(txn.conn, lost)
    return StoreResult(stored=[version.id for version, _head in kept], stale=stale)


def _horizons_of_new(
    txn: WriteTxn, versions: list[Version], heads: dict[uuid.UUID, Any]
) -> dict[str, int]:
    """The collection horizons (docs/decisions/0702) of the origins of ids not held here: a
    version at or below its origin's horizon is stale, for its id may have been collected."""
    origins = {v.origin for v in versions if v.id not in heads}
    return horizons_repo.horizons_of(txn.conn, origins) if origins else {}


def _head_ranks(
    txn: WriteTxn, versions: list[Version], heads: dict[uuid.UUID, Any]
) -> dict[uuid.UUID, int]:
    """The precedence of the held heads of ranked kinds (their data is read only for those)."""
    ids = [
        v.id
        for v in versions
        if v.id in heads and (v.kind in RANKED_KINDS or heads[v.id].kind in RANKED_KINDS)
    ]
    if not ids:
        return {}
    rows = repository.rows_by_ids(txn.conn, ids)
    return {i: precedence(r.kind, r.data or {}, r.deleted) for i, r in rows.items()}


def log_given_up(txn: WriteTxn, versions: list[Version], heads: dict[uuid.UUID, Any]) -> None:
    """Log `versions` as lost to the heads held (tombstones a child sent for ids held here from
    outside its subtree: it gave up its copy of a conflicting id; nothing else changes)."""
    repository.add_conflicts(txn.conn, [_lost(txn, kept=heads[v.id], loser=v) for v in versions])


def _lost(txn: WriteTxn, *, kept: Any, loser: Any) -> dict[str, Any]:
    """A conflict-log row: two nodes wrote the same id; the loser is kept for an operator.

    Only versions from different origins conflict: one node's own versions simply supersede.
    """
    if isinstance(loser, Version):
        data, deleted = loser.data, loser.deleted
    else:  # the head row lost: read its data before it is overwritten
        row = repository.get_row(txn.conn, loser.id)
        data, deleted = (row.data if row else {}), loser.deleted
    return {
        "record_id": loser.id,
        "kept_version": format_version(kept.hlc, kept.origin),
        "lost_version": format_version(loser.hlc, loser.origin),
        "lost_unit": loser.unit,
        "lost_deleted": deleted,
        "lost_data": data,
        "at": txn.now,
    }


def refresh_projections(
    txn: WriteTxn, versions: list[Version], stale: list[uuid.UUID], heads: dict[uuid.UUID, Any]
) -> list[uuid.UUID]:
    """The pushed versions equal to the ones held whose data differ: the child re-projected
    them under a changed privacy policy (docs/decisions/1001, Changing the policy). The
    child's data replaces the held data under the same version, with a new log position so
    that it moves on up (and each relay re-projects it in turn). A resent batch carries the
    data held, and costs one read of its stale rows."""
    if not stale:
        return []
    again = set(stale)
    same = [
        v
        for v in versions
        if v.id in again
        and not v.deleted
        and v.kind not in FEDERATION_KINDS
        and (head := heads.get(v.id)) is not None
        and (head.hlc, head.origin, head.deleted) == (v.hlc, v.origin, False)
    ]
    if not same:
        return []
    held = repository.rows_by_ids(txn.conn, [v.id for v in same])
    changed: list[Change] = [
        (v, held[v.id]) for v in same if v.id in held and held[v.id].data != v.data
    ]
    if not changed:
        return []
    rows = [
        {
            "id": v.id,
            "kind": v.kind,
            "unit": v.unit,
            "data": v.data,
            "hlc": v.hlc,
            "origin": v.origin,
            "deleted": False,
            "schema_version": v.schema_version,
            "seq": txn.tick(),
            "updated_at": txn.now,
        }
        for v, _head in changed
    ]
    for hook in txn.write_hooks:
        hook(txn, changed)
    repository.save_rows(txn.conn, rows)
    return [v.id for v, _head in changed]
