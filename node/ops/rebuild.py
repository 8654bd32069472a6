"""`tiersync rebuild --from-parent`: recreate a node whose data was lost from its parent's copy
of its subtree — records (origin and version kept), the unit registry — and continue above
every version it had issued.

The clock: store_versions observes each received version, and the parent's cursor in this
node's log (a tick of the lost node's clock) is observed too, so new versions and log
positions sort after everything the lost node issued. The cursor: everything stored here came
from the parent, so the slice of this node's log from the parent's cursor to the new head holds
nothing the parent lacks; one empty push of that slice moves the parent's cursor there, and the
node does not send the parent its own copy back. With --force (a node that still holds
records) what this node made and the parent may lack is pushed first, as any push: the
empty slice then covers only what came from the parent (docs/protocol.md). The parent's
collection horizons of the subtree come too (docs/decisions/0702).
"""

import uuid
from collections.abc import Callable
from typing import Any

from federation.peer import OutgoingBatch, Parent
from federation.replicator import Replicator, ReplicatorConfig
from node.context import NodeContext
from node.db import WriteTxn
from node.directives.versions import index_directive
from node.errors import Conflict
from node.records import horizons
from node.records import repository as records_repo
from node.records.store import Version, store_versions
from node.records.wire import to_version
from node.sync.receive import apply_units
from node.sync.runner import outbox
from node.units import enrolments
from node.uplink import parent_connection
from schemas.ops import RebuildReport

Progress = Callable[[int], None]


def _held(ctx: NodeContext) -> int:
    with ctx.db.read() as conn:
        return records_repo.count(conn)


async def rebuild_from_parent(
    ctx: NodeContext,
    *,
    transport: Any = None,
    force: bool = False,
    progress: Progress | None = None,
    page_size: int = 1000,
) -> RebuildReport:
    settings = ctx.settings
    if not settings.parent_url or not settings.parent_token:
        raise Conflict(
            "rebuild needs the parent: set TIERSYNC_PARENT_URL and TIERSYNC_PARENT_TOKEN"
        )
    if not force and _held(ctx):
        raise Conflict(
            "this node already holds records: rebuild fills an empty node "
            "(use verify --repair, or --force to merge the parent's copy in)"
        )
    async with parent_connection(settings, transport=transport, clock=ctx.db.now_ms) as parent:
        if force:
            await _push_pending(ctx, parent)
        return await _rebuild(ctx, parent, progress=progress, page_size=page_size)


async def _push_pending(ctx: NodeContext, parent: Parent) -> int:
    """Before merging the parent's copy into a node that still holds records (--force): push
    what the parent may lack of this node's log (from the lower of the two cursors), as any
    push. The rebuild then settles only positions whose content came from the parent."""
    settings = ctx.settings
    store = outbox(ctx)
    store.rewind(min(store.acked(), await parent.cursor(source=settings.code)))
    config = ReplicatorConfig(
        source=settings.code,
        batch_max_records=settings.batch_max_records,
        batch_max_bytes=settings.batch_max_bytes,
    )
    return await Replicator(store=store, peer=parent, config=config).run_once()


async def _rebuild(
    ctx: NodeContext, parent: Parent, *, progress: Progress | None, page_size: int
) -> RebuildReport:
    settings = ctx.settings
    records = units = pages = enrolled = 0
    after: str | None = None
    parent_cursor = 0
    while True:
        page = await parent.export_page(after, limit=page_size)
        pages += 1
        parent_cursor = page.cursor
        with ctx.db.write(notify=False) as txn:
            txn.observe(page.cursor)
            units += apply_units(txn, page.units)
            enrolled += enrolments.restore(txn, page.enrolments)
            versions = [to_version(r) for r in page.records]
            stored = store_versions(txn, versions, from_above=True).stored
            _index_directives(txn, settings.code, versions, stored)
            records += len(stored)
        if progress:
            progress(records)
        if page.next is None:
            break
        after = page.next
    # The parent's horizons of this subtree, read after the last page (they only rise): what
    # it collected, this node must not take back from a child restored from before.
    collected = (await parent.digest_root()).horizons
    with ctx.db.write(notify=False) as txn:
        horizons.raise_horizons(txn.conn, {o: (h, 0) for o, h in collected.items()}, txn.now)
        head = txn.tick()  # above every position given to the rebuilt records
    acked = await _settle_cursor(ctx, parent, since=parent_cursor, head=head)
    return RebuildReport(
        node=settings.code,
        records=records,
        units=units,
        last_hlc=head,
        acked=acked,
        pages=pages,
        enrolments=enrolled,
    )


async def _settle_cursor(ctx: NodeContext, parent: Parent, *, since: int, head: int) -> int:
    """Tell the parent that this node's log up to `head` holds nothing new for it."""
    ack = await parent.push(
        OutgoingBatch(since=since, until=head, head=head, records=[], units=[]),
        source=ctx.settings.code,
    )
    outbox(ctx).save_ack(until=head, durable=ack.durable)
    return head


def _index_directives(
    txn: WriteTxn, code: str, versions: list[Version], stored: list[uuid.UUID]
) -> None:
    """Directives come back as records; the directives domain indexes them to serve down."""
    kept = set(stored)
    for version in versions:
        if version.kind == "directive" and version.id in kept:
            index_directive(txn, directive_id=version.id, node_code=code)
