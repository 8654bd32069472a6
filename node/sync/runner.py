"""Wires the replicator into a running node: started in the app's lifespan, woken by commits."""

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import OperationalError

from federation.peer import Peer
from federation.replicator import Replicator, ReplicatorConfig
from node.context import NodeContext
from node.sync.outbox import SqlChangeStore
from schemas.codes import NODE_LEVELS, level_of

log = logging.getLogger(__name__)
Stop = Callable[[], Awaitable[None]]
TASK = "replicator"
CLOCK_NOTE = "clock"


def outbox(ctx: NodeContext) -> SqlChangeStore:
    """This node's change store, with the push sections it was wired with, less those that
    only relay what nodes below reported when no node can be below (a village): each would
    read the database on every push to find nothing."""
    sections = ctx.push_sections
    if level_of(ctx.settings.code) is NODE_LEVELS[-1]:
        sections = [s for s in sections if not getattr(s, "relays_below", False)]
    return SqlChangeStore(ctx.db, ctx.settings.code, sections=sections, projection=ctx.projection)


def build_replicator(ctx: NodeContext, peer: Peer) -> Replicator:
    settings = ctx.settings
    config = ReplicatorConfig(
        source=settings.code,
        batch_max_records=settings.batch_max_records,
        batch_max_bytes=settings.batch_max_bytes,
        delay_s=settings.push_delay_ms / 1000,
        retry_max_s=settings.retry_max_s,
        heartbeat_s=settings.heartbeat_s,
        max_clock_skew_s=settings.max_clock_skew_s,
        check_standing=True,
    )
    health = ctx.supervisor.reporter(TASK)
    store = outbox(ctx)
    try:
        store.mark_opened()
    except OperationalError as exc:  # unnoted: a restore's writes are all issued anew
        log.warning("could not note the HLC this start opened at: %s", exc)
    replicator = Replicator(
        store=store,
        peer=peer,
        config=config,
        health=health,
        clock_note=lambda message: ctx.supervisor.set_note(CLOCK_NOTE, message),
        wall=ctx.db.clock,  # the node's clock (its HLC's), compared with the parent's in acks
    )
    ctx.db.on_commit(replicator.notify)
    return replicator


def replication_hook(*, run: bool = True) -> Callable[[NodeContext], Stop | None]:
    """A startup hook for create_app: builds the replicator on the node's parent connection
    and (unless run=False, for tests that drive `run_once()`) starts it."""

    def start(ctx: NodeContext) -> Stop | None:
        if ctx.parent is None:
            return None
        replicator = ctx.replicator = build_replicator(ctx, ctx.parent)
        if not run:
            return None
        return ctx.supervisor.spawn(TASK, replicator.run_forever)

    return start
