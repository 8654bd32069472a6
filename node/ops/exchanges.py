"""The parent's side of the operator exchanges other than the digest walk (node/digests/
answers.py): records by id, repair, export — what a child may ask about its own subtree.

Every function takes the authenticated child's code and answers only about that subtree.
"""

from federation.hlc import format_version
from node.context import NodeContext
from node.db import Database
from node.errors import Forbidden
from node.records import repository as records_repo
from node.records.service import decode_cursor, encode_cursor
from node.records.wire import record_to_wire
from node.sync import repository as sync_repo
from node.sync.receive import receiver
from node.units import enrolments
from node.units import repository as units_repo
from schemas.codes import is_within
from schemas.ops import (
    ExportPage,
    RecordsFound,
    RecordsQuery,
    RepairBatch,
    RepairResult,
)
from schemas.sync import ChangeRecord, PushBatch, UnitChange


def find_records(db: Database, *, child: str, query: RecordsQuery) -> RecordsFound:
    """The asked ids as held here; data only for records made in the child's subtree."""
    with db.read() as conn:
        rows = records_repo.rows_by_ids(conn, query.ids)
    found = RecordsFound()
    for row in rows.values():
        version = format_version(row.hlc, row.origin)
        if is_within(row.origin, child) and is_within(row.unit, child):
            found.versions[str(row.id)] = version
            if query.data:
                found.records.append(ChangeRecord.model_validate(record_to_wire(row)))
        else:
            found.foreign[str(row.id)] = version
    return found


def apply_repair(ctx: NodeContext, *, child: str, batch: RepairBatch) -> RepairResult:
    """Apply like a push (same checks: protocol, source, jurisdiction, quarantine, idempotent
    store), as the empty log slice (0, 0]: no cursor moves."""
    if batch.source != child:
        raise Forbidden(f"credential of {child} used to repair as {batch.source}")
    push = PushBatch(
        protocol=batch.protocol,
        source=batch.source,
        since=0,
        until=0,
        head=0,
        records=batch.records,
    )
    ack = receiver(ctx).apply_push(child=child, batch=push)
    return RepairResult(applied=ack.applied, stale=ack.stale, quarantined=ack.quarantined)


def export_page(db: Database, *, child: str, after: str | None, limit: int) -> ExportPage:
    """One page of every record (tombstones too) this node holds whose unit is in the child's
    subtree; the first page also carries the registry of that subtree."""
    position = decode_cursor(after) if after else None
    with db.snapshot() as conn:  # the page and its cursor agree
        rows = records_repo.list_page(
            conn, kind=None, unit=child, after=position, limit=limit + 1, tombstones=True
        )
        units = [] if after else units_repo.units_in_subtree(conn, child)
        enrolled = [] if after else enrolments.held_for(conn, child)
        cursor = sync_repo.child_cursor(conn, child)
    more = len(rows) > limit
    rows = rows[:limit]
    return ExportPage(
        subtree=child,
        cursor=cursor,
        records=[ChangeRecord.model_validate(record_to_wire(r)) for r in rows],
        units=[UnitChange.model_validate(units_repo.to_wire(u)) for u in units],
        enrolments=enrolled,
        next=encode_cursor(rows[-1].unit, rows[-1].id) if more and rows else None,
    )
