"""What a node is made of, in one place: the features plugged into its seams, its routes and
its background tasks (docs/architecture.md). The core (records, sync) names no feature; this
module is where they meet, like Starlette's middleware list.

To add a feature: a write hook (node.seams.WriteHook) to `write_hooks`, a push section
(node.seams.PushSection) to `push_sections`, a router to `ROUTERS` (and what its endpoints
need to node/access/rights.py), a background task to `startup_hooks`. Each is one line here.

Every router is included behind the operator-access gate (`include_routes`): an endpoint that
node/access/rights.py does not list is refused to everyone.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from federation.crypto import suite
from federation.hlc import Clock, wall_ms
from federation.identity import Identity
from federation.observe import Observer
from federation.signing import NonceStore
from node import locate, migrate, wake
from node.access import hosts, openapi
from node.access import routes as access_routes
from node.access.gate import Gate
from node.api import docs, health
from node.audit.section import AuditSection
from node.checkpointer import WalCheckpointer
from node.context import NodeContext, NodeIdentity
from node.dashboard import routes as dashboard_routes
from node.db import Database
from node.digests import routes as digest_routes
from node.digests import tree as digest_tree
from node.digests.reports import DigestSection
from node.directives import progress as directive_progress
from node.directives import routes as directive_routes
from node.directives.ownership import DirectiveOwnership
from node.directives.runner import directives_hook
from node.errors import NoNode, StorageFull, Unavailable
from node.live import routes as live_routes
from node.live.runner import live_hook
from node.metrics import routes as metrics_routes
from node.ops import node_routes
from node.ops import routes as ops_routes
from node.origins.leaves import LeafMaker, levels_above
from node.origins.section import OriginSection
from node.privacy import at_rest, reproject
from node.privacy import outgoing as privacy_setup
from node.privacy.outgoing import HashKeySection
from node.records import routes as record_routes
from node.reveals import routes as reveal_routes
from node.reveals.runner import reveal_hook
from node.seams import PushSection, WriteHook
from node.settings import Settings
from node.supervisor import TASKS_FILE
from node.sync import repository as sync_repo
from node.sync import routes as sync_routes
from node.sync.quarantine import TASK as QUARANTINE_TASK
from node.sync.quarantine import QuarantineRetrier
from node.sync.receive import receiver
from node.sync.runner import replication_hook
from node.tombstones.runner import collector_hook
from node.units import service as units_service
from node.units.enrolments import EnrolmentSection
from node.units.keys import KeySection, trusted_ca
from node.uplink import connect_parent
from node.views import routes as view_routes
from node.views.freshness import FreshnessSection
from node.views.rollups import RollupHook

log = logging.getLogger("tiersync.node")
CHECKPOINTER = "wal-checkpointer"
Stop = Callable[[], Awaitable[None]]
Startup = Callable[[NodeContext], Stop | None]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    docs.router,  # /docs and /redoc from the package's own assets
    record_routes.router,
    view_routes.router,
    live_routes.router,  # views: live incidents for the big screen
    dashboard_routes.router,  # views: the big screen at /
    sync_routes.router,
    directive_routes.router,
    digest_routes.router,
    ops_routes.router,
    node_routes.router,  # ops: resync and bundle ack run by the serving node (ops.run)
    access_routes.router,  # access: sign-in, users, audit, reveal, the login page
    reveal_routes.router,  # reveals: one record in full, asked of its owner
    metrics_routes.router,  # metrics: GET /metrics for Prometheus (right metrics.read)
)


def include_routes(app: FastAPI, settings: Settings) -> None:
    """Every router behind the gate; the host check (and CORS, if configured) around all."""
    gate = app.state.gate = Gate(settings)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(gate)])
    hosts.install(app, settings)
    openapi.install(app)


def write_hooks(code: str) -> list[WriteHook]:
    """What every stored batch is shown to, in its transaction (node/records/store.py)."""
    return [
        RollupHook(floor=len(code)),  # views: roll-ups at each level down to this node's
        digest_tree.record_changes,  # digests: the digest tree's kept rows
    ]


def push_sections(
    code: str,
    key_id: str | None = None,
    ca: bytes | None = None,
    origins: OriginSection | None = None,
) -> list[PushSection]:
    """The sections every push carries up and every parent reads (node/sync)."""
    extra: list[PushSection] = [origins] if origins is not None else []
    return [
        DirectiveOwnership(),  # directives: refuse receipts and directives not the child's own
        AuditSection(),  # audit: the head of this node's audit chain
        DigestSection(code),  # digests: the child's root digest, on the batch reaching head
        FreshnessSection(),  # views: when the nodes below last pushed
        EnrolmentSection(),  # units: the child enrolments, kept above for a rebuild
        KeySection(ca),  # units: the descendants' keys, checked against the CA above
        HashKeySection(key_id),  # privacy: a child with another hash key is refused
        *extra,  # origins: the seals of the records, checked against the CA above
    ]


def origin_section(settings: Settings, privacy: Any, ca: bytes | None) -> OriginSection:
    """The `origins` section and screen of this node (node/origins)."""
    has_parent = bool(settings.parent_url)
    leaves = None
    if has_parent:
        crypto = suite(settings.crypto)
        leaves = LeafMaker(crypto, levels_above(settings.code), privacy.policy, privacy.key)
    return OriginSection(
        settings.code,
        has_parent=has_parent,
        suite_name=settings.crypto,
        data_dir=settings.data_dir,
        leaves=leaves,
        ca=ca,
    )


def open_node(
    settings: Settings, *, clock: Clock = wall_ms, create: bool = True, writable: bool = True
) -> NodeContext:
    """Open a node's database, wired; used by the app and by the CLI alike.

    `create` (serve, init, rebuild, the demo): make the database and the node's identity if
    they are missing, migrate, and register or rename the node's own unit from the settings.
    Otherwise the database must already hold this node (NoNode, else Conflict); `writable`
    migrates it, and `writable=False` (read-only commands) changes nothing at all: a schema
    behind the code is refused rather than migrated.
    """
    if not create and not locate.holds_node(settings):
        raise NoNode(f"{locate.where(settings)} 没有 tiersync 节点：请先运行 `tiersync init`")
    if create:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if writable and settings.tls_cert is not None:  # the key the CA issued with the certificate
        Identity.of(settings.data_dir, settings.crypto).adopt(Path(settings.tls_cert).parent)
    privacy = privacy_setup.load(settings, create=create)  # a bad policy or key: nothing opened
    db = Database(
        settings.resolved_database_url,
        clock=clock,
        write_hooks=write_hooks(settings.code),
        max_skew_ms=int(settings.max_clock_skew_s * 1000),
        busy_ms=int(settings.sqlite_busy_timeout_s * 1000),
        chain_suite=settings.crypto,
    )
    try:
        if writable:
            migrate.upgrade(db.engine)
        elif migrate.current_revisions(db.engine) != migrate.head_revisions():
            raise Unavailable(
                f"database at migration {migrate.current_revision(db.engine)}, this tiersync "
                f"expects {migrate.head_revision(db.engine)}: run `tiersync db upgrade`"
            )
        at_rest.install(db, settings, writable=writable, hash_key=privacy.key)
        if create:
            db.ensure_identity(settings.code)
            units_service.ensure_own_unit(db, code=settings.code, name=settings.name)
        else:
            db.check_identity(settings.code)
        if writable:  # a changed policy: the kinds it changed leave again, re-projected
            reproject.resend_changed(db, privacy.policy, settings.code)
    except BaseException:
        db.dispose()
        raise
    ca = trusted_ca(settings.data_dir, settings.parent_ca)
    origins = origin_section(settings, privacy, ca)
    return NodeContext(
        settings=settings,
        db=db,
        identity=NodeIdentity(code=settings.code, name=settings.name),
        push_sections=push_sections(settings.code, privacy.key_id, ca, origins),
        record_screens=[origins],
        projection=privacy.projection,
        hash_key_id=privacy.key_id,
        nonces=NonceStore(settings.replay_window_s),
        directive_progress=directive_progress.view_progress,
    )


def startup_hooks(
    *, transport: Any = None, run: bool = True, observe: Observer | None = None
) -> list[Startup]:
    """The background of a serving node, started in this order and stopped in reverse.
    `observe` is told of every request to the parent (the node's metrics)."""
    return [
        start_supervisor,
        start_checkpointer,
        parent_hook(transport=transport, observe=observe),
        retry_quarantine,
        start_quarantine_retrier,
        replication_hook(run=run),
        directives_hook(run=run),
        live_hook,  # views: the live incident feed, woken by commits
        collector_hook(run=run),  # tombstones every ancestor holds (node/tombstones)
        reveal_hook,  # reveals: answers held at the requester for a limited time
        wake.listen_hook,  # another process's commits wake the loops above (node/wake.py)
    ]


STORAGE_NOTE = "storage"  # the supervisor's note while writes fail on a full disk


def start_supervisor(ctx: NodeContext) -> Stop:
    """Every task below runs under the node's supervisor (node/supervisor.py), which publishes
    their states for `tiersync status` in the data directory; stopped last."""
    ctx.supervisor.state_file = ctx.settings.data_dir / TASKS_FILE
    clock = ctx.db.clock
    ctx.supervisor.now = lambda: datetime.fromtimestamp(clock() / 1000, tz=UTC)  # the node's
    ctx.supervisor.retry_max_s = ctx.settings.retry_max_s
    ctx.supervisor.unready_after_s = ctx.settings.task_unready_s
    ctx.db.on_storage(
        lambda since: ctx.supervisor.set_note(
            STORAGE_NOTE, None if since is None else StorageFull.note(since)
        )
    )
    return ctx.supervisor.start_publishing()


def retry_quarantine(ctx: NodeContext) -> None:
    """At start (after an upgrade, say), apply again what the quarantine holds: what this
    version understands leaves it (issue 10, defect 9). A failure never stops the start."""
    try:
        with ctx.db.read() as conn:
            if not sync_repo.quarantined_count(conn):
                return
        result = receiver(ctx).retry_quarantined()
        log.info("quarantine retried at start: %s", result)
    except Exception:
        log.exception("could not retry the quarantine at start")


def start_quarantine_retrier(ctx: NodeContext) -> Stop:
    """While serving, apply again every RETRY_EVERY_S the quarantine entries whose cause went
    away (a clock set right: node/sync/quarantine.py), under the supervisor."""
    retrier = QuarantineRetrier(
        ctx.db,
        receiver(ctx),
        health=ctx.supervisor.reporter(QUARANTINE_TASK),
        retry_max_s=ctx.settings.retry_max_s,
    )
    return ctx.supervisor.spawn(QUARANTINE_TASK, retrier.run_forever)


def start_checkpointer(ctx: NodeContext) -> Stop | None:
    """Checkpoint a SQLite node's log in the background (node/checkpointer.py)."""
    if not ctx.db.is_sqlite:
        return None
    health = ctx.supervisor.reporter(CHECKPOINTER)
    checkpointer = ctx.checkpointer = WalCheckpointer(ctx.db.engine, health=health)
    ctx.db.on_commit(checkpointer.notify, bookkeeping=True)
    checkpointer.start()

    async def stop() -> None:
        await asyncio.to_thread(checkpointer.stop)
        ctx.supervisor.stopped(CHECKPOINTER)

    return stop


def parent_hook(*, transport: Any = None, observe: Observer | None = None) -> Startup:
    """The node's one connection to its parent, shared by the replicator and the puller."""

    def start(ctx: NodeContext) -> Stop | None:
        if not ctx.settings.parent_url:
            return None
        parent = connect_parent(
            ctx.settings,
            transport=transport,
            observe=observe,
            hash_key_id=ctx.hash_key_id,
            clock=ctx.db.now_ms,
        )
        ctx.parent = parent
        return parent.aclose

    return start
