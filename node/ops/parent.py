"""The parent's side of the operator exchanges: what a child may ask about its own subtree.

Every function takes the authenticated child's code and answers only about that subtree.
"""

from dataclasses import dataclass

from federation.hlc import format_version
from node.db import Database
from node.errors import FieldError, Forbidden, Invalid
from node.ops import digests, repository
from node.records.service import decode_cursor, encode_cursor
from node.sync import repository as sync_repo
from node.sync.outbox import record_to_wire, unit_to_wire
from node.sync.receive import Receiver
from schemas.codes import is_within
from schemas.ops import (
    DigestLeaves,
    DigestNodes,
    DigestQuery,
    DigestRoot,
    ExportPage,
    RecordsFound,
    RecordsQuery,
    RepairBatch,
    RepairResult,
)
from schemas.sync import ChangeRecord, PushBatch, UnitChange


def _check_prefixes(query: DigestQuery) -> None:
    bad = [p for p in query.prefixes if not digests.is_valid_prefix(p)]
    if bad:
        raise Invalid(
            "prefixes must be lower-case hex, at most 32 digits",
            [FieldError("prefixes", f"{p!r} is not a hex prefix") for p in bad[:20]],
        )


def digest_root(db: Database, *, child: str) -> DigestRoot:
    with db.read() as conn:
        return DigestRoot(subtree=child, kinds=digests.root(conn, child))


def digest_nodes(db: Database, *, child: str, query: DigestQuery) -> DigestNodes:
    _check_prefixes(query)
    with db.read() as conn:
        nodes = {p: digests.children(conn, child, query.kind, p) for p in query.prefixes}
    return DigestNodes(kind=query.kind, nodes=nodes)


def digest_leaves(db: Database, *, child: str, query: DigestQuery) -> DigestLeaves:
    _check_prefixes(query)
    with db.read() as conn:
        found = {p: digests.leaves(conn, child, query.kind, p) for p in query.prefixes}
    return DigestLeaves(kind=query.kind, leaves=found)


def find_records(db: Database, *, child: str, query: RecordsQuery) -> RecordsFound:
    """The asked ids as held here; data only for records made in the child's subtree."""
    with db.read() as conn:
        rows = repository.rows_by_ids(conn, query.ids)
    found = RecordsFound()
    for row in rows:
        version = format_version(row.hlc, row.origin)
        if is_within(row.origin, child) and is_within(row.unit, child):
            found.versions[str(row.id)] = version
            if query.data:
                found.records.append(ChangeRecord.model_validate(record_to_wire(row)))
        else:
            found.foreign[str(row.id)] = version
    return found


@dataclass(frozen=True)
class RepairTarget:
    db: Database
    node_code: str
    has_parent: bool


def apply_repair(target: RepairTarget, *, child: str, batch: RepairBatch) -> RepairResult:
    """Apply like a push (same checks: protocol, source, jurisdiction, quarantine, idempotent
    store), as the empty log slice (0, 0]: no cursor moves."""
    if batch.source != child:
        raise Forbidden(f"credential of {child} used to repair as {batch.source}")
    receiver = Receiver(target.db, target.node_code, has_parent=target.has_parent)
    push = PushBatch(
        protocol=batch.protocol,
        source=batch.source,
        since=0,
        until=0,
        head=0,
        records=batch.records,
    )
    ack = receiver.apply_push(child=child, batch=push)
    return RepairResult(applied=ack.applied, stale=ack.stale, quarantined=ack.quarantined)


def export_page(db: Database, *, child: str, after: str | None, limit: int) -> ExportPage:
    """One page of every record (tombstones too) this node holds whose unit is in the child's
    subtree; the first page also carries the registry of that subtree."""
    position = decode_cursor(after) if after else None
    with db.read() as conn:
        rows = repository.export_page(conn, root=child, after=position, limit=limit + 1)
        units = [] if after else repository.units_below(conn, child)
        cursor = sync_repo.child_cursor(conn, child)
    more = len(rows) > limit
    rows = rows[:limit]
    return ExportPage(
        subtree=child,
        cursor=cursor,
        records=[ChangeRecord.model_validate(record_to_wire(r)) for r in rows],
        units=[UnitChange.model_validate(unit_to_wire(u)) for u in units],
        next=encode_cursor(rows[-1].unit, rows[-1].id) if more and rows else None,
    )
