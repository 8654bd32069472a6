"""`tiersync resync`: send this node's change log to its parent again, from the start or a
cursor (idempotent: the parent applies what it already holds as stale); and, at a parent, ask a
child to do so by lowering its cursor, so its next push is answered 409 and resent from there.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from federation.peer import OutgoingBatch
from federation.replicator import Replicator, ReplicatorConfig
from node.context import NodeContext
from node.directives import service as directives
from node.errors import BadRequest, NotFound
from node.sync import repository as sync_repo
from node.sync.outbox import SqlChangeStore, pending
from node.sync.runner import outbox
from node.uplink import parent_connection
from schemas.sync import CursorInfo

Progress = Callable[[int, int], None]  # (records sent so far, records to send)


@dataclass
class _CountingStore:
    """The node's change store, reporting progress as acks come back."""

    inner: SqlChangeStore
    total: int
    progress: Progress | None
    sent: int = 0
    _sizes: dict[int, int] = field(default_factory=dict)  # batch until -> items (read ahead)

    def acked(self) -> int:
        return self.inner.acked()

    def read_batch(self, since: int, *, max_records: int, max_bytes: int) -> OutgoingBatch:
        batch = self.inner.read_batch(since, max_records=max_records, max_bytes=max_bytes)
        if not batch.empty:  # an empty read-ahead has the previous batch's `until`
            self._sizes[batch.until] = len(batch.records) + len(batch.units)
        return batch

    def save_ack(self, *, until: int, durable: int) -> None:
        self.inner.save_ack(until=until, durable=durable)
        self.sent += self._sizes.pop(until, 0)
        if self.progress:
            self.progress(min(self.sent, self.total), self.total)

    def rewind(self, cursor: int) -> None:
        self.inner.rewind(cursor)

    def reconcile(self, standing: CursorInfo) -> int | None:
        return self.inner.reconcile(standing)

    def save_error(self, message: str | None) -> None:
        self.inner.save_error(message)


def to_send(ctx: NodeContext, *, since: int) -> int:
    """Records and registry entries this node would push after `since` (made in its subtree)."""
    with ctx.db.read() as conn:
        return pending(conn, root=ctx.settings.code, after=since)


async def resync_up(
    ctx: NodeContext, *, since: int = 0, transport: Any = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Rewind the acked cursor to `since` and push until the parent holds the whole log."""
    settings = ctx.settings
    if not settings.parent_url or not settings.parent_token:
        raise BadRequest("this node has no parent (TIERSYNC_PARENT_URL, TIERSYNC_PARENT_TOKEN)")
    total = to_send(ctx, since=since)
    store = _CountingStore(outbox(ctx), total, progress)
    config = ReplicatorConfig(
        source=settings.code,
        batch_max_records=settings.batch_max_records,
        batch_max_bytes=settings.batch_max_bytes,
    )
    store.rewind(since)
    async with parent_connection(settings, transport=transport, clock=ctx.db.now_ms) as peer:
        pushed = await Replicator(store=store, peer=peer, config=config).run_once()
    return {
        "since": since,
        "records": pushed,
        "batches": peer.stats.batches,
        "bytes": peer.stats.wire_bytes,
        "acked": store.acked(),
        "requests_done": complete_requests(ctx, note=f"resent {pushed} records from {since}")
        if since == 0
        else [],
    }


def request_child_resync(ctx: NodeContext, *, child: str, since: int = 0) -> dict[str, Any]:
    """Make `child` re-send its log from `since`: the parent's cursor is the truth, so lowering
    it makes the child's next push get 409 and rewind. A resync directive goes too, so the
    request is on record at both ends (the child reports it done after its own resync)."""
    with ctx.db.write(notify=False) as txn:
        held = sync_repo.lower_child_cursor(txn.conn, code=child, cursor=since)
    if held is None:
        raise NotFound(f"{child} has never pushed to this node: there is nothing to resync")
    directive = _issue_directive(ctx, child=child, since=since)
    return {"child": child, "cursor": held, "directive": directive}


def _issue_directive(ctx: NodeContext, *, child: str, since: int) -> str:
    return str(directives.issue_resync(ctx, child=child, since=since))


def complete_requests(ctx: NodeContext, *, note: str) -> list[str]:
    """Report done every resync request the parent sent down (a resync from the start or
    further back covers each of them)."""
    done = []
    for item in directives.pending_resync_requests(ctx.db):
        directives.complete(ctx.db, node=ctx.identity, directive_id=item.id, note=note)
        done.append(str(item.id))
    return done
