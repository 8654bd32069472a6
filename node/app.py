"""create_app(): one node per call, so many nodes can live in one process."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from federation.hlc import Clock, wall_ms
from node import locate, migrate
from node.api import docs, error_handlers, health, openapi
from node.api.body_limit import BodyLimit
from node.checkpointer import checkpointer_hook
from node.context import NodeContext
from node.dashboard import routes as dashboard_routes
from node.db import Database
from node.directives import routes as directive_routes
from node.directives.runner import directives_hook
from node.errors import NoNode, Unavailable
from node.ops import routes as ops_routes
from node.records import routes as record_routes
from node.records.service import NodeIdentity
from node.settings import Settings
from node.sync import routes as sync_routes
from node.sync.runner import replication_hook
from node.units import service as units_service
from node.views import routes as view_routes

Startup = Callable[[NodeContext], Any]


def open_node(
    settings: Settings, *, clock: Clock = wall_ms, create: bool = True, writable: bool = True
) -> NodeContext:
    """Open a node's database; used by the app and by the CLI alike.

    `create` (serve, init, rebuild, the demo): make the database and the node's identity if
    they are missing, migrate, and register or rename the node's own unit from the settings.
    Otherwise the database must already hold this node (NoNode, else Conflict); `writable`
    migrates it, and `writable=False` (read-only commands) changes nothing at all: a schema
    behind the code is refused rather than migrated.
    """
    if not create and not locate.holds_node(settings):
        raise NoNode(f"no tiersync node at {locate.where(settings)}; run `tiersync init` first")
    if create:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url, clock=clock)
    try:
        if writable:
            migrate.upgrade(db.engine)
        elif migrate.current_revisions(db.engine) != migrate.head_revisions():
            raise Unavailable(
                f"database at migration {migrate.current_revision(db.engine)}, this tiersync "
                f"expects {migrate.head_revision(db.engine)}: run `tiersync db upgrade`"
            )
        if create:
            db.ensure_identity(settings.code)
            units_service.ensure_own_unit(db, code=settings.code, name=settings.name)
        else:
            db.check_identity(settings.code)
    except BaseException:
        db.dispose()
        raise
    return NodeContext(
        settings=settings, db=db, identity=NodeIdentity(code=settings.code, name=settings.name)
    )


def create_app(
    settings: Settings,
    *,
    transport: Any = None,
    clock: Clock = wall_ms,
    run_replicator: bool = True,
    background: list[Startup] | None = None,
) -> FastAPI:
    """Build a node.

    `transport` (an httpx transport) is how this node reaches its parent: tests route many
    in-process nodes through one. `run_replicator=False` builds the replicator without its loop,
    for tests that drive `run_once()` themselves. `background` adds more startup hooks.
    """
    hooks = [
        checkpointer_hook,
        replication_hook(transport=transport, run=run_replicator),
        directives_hook(transport=transport, run=run_replicator),
        *(background or []),
    ]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = await run_in_threadpool(open_node, settings, clock=clock)
        app.state.ctx = ctx
        stops = [hook(ctx) for hook in hooks]
        try:
            yield
        finally:
            for stop in stops:
                if stop is not None:
                    await stop()
            ctx.db.dispose()

    app = FastAPI(
        title=f"tiersync node {settings.code}",
        version="0.1.0",
        description="A tiersync node: records, views, directives and replication of one unit.",
        lifespan=lifespan,
        docs_url=None,  # served from the package's own assets (node/api/docs.py)
        redoc_url=None,
    )
    error_handlers.install(app)
    openapi.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(record_routes.router)
    app.include_router(view_routes.router)
    app.include_router(dashboard_routes.router)  # views: the big screen at /
    app.include_router(sync_routes.router)
    app.include_router(directive_routes.router)
    app.include_router(ops_routes.router)
    return app
