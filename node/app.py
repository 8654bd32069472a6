"""create_app(): one node per call, so many nodes can live in one process."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from federation.hlc import Clock, wall_ms
from node import wiring
from node.api import error_handlers, openapi
from node.api.body_limit import BodyLimit
from node.api.requests import RequestLog
from node.metrics.http import RequestMetrics
from node.metrics.registry import NodeMetrics
from node.settings import Settings
from node.wiring import Startup, open_node

__all__ = ["create_app", "open_node"]


def create_app(
    settings: Settings,
    *,
    transport: Any = None,
    clock: Clock = wall_ms,
    run_replicator: bool = True,
    background: list[Startup] | None = None,
) -> FastAPI:
    """Build a node (what it is made of: node/wiring.py).

    `transport` (an httpx transport) is how this node reaches its parent: tests route many
    in-process nodes through one. `run_replicator=False` builds the replicator without its loop,
    for tests that drive `run_once()` themselves. `background` adds more startup hooks.
    """
    metrics = NodeMetrics()  # this app's own registry: many nodes may share a process
    startup = wiring.startup_hooks(
        transport=transport, run=run_replicator, observe=metrics.observe_exchange
    )
    hooks = [*startup, *(background or [])]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = await run_in_threadpool(open_node, settings, clock=clock)
        app.state.ctx = ctx
        metrics.watch(ctx)
        stops = [hook(ctx) for hook in hooks]
        try:
            yield
        finally:
            for stop in reversed(stops):
                if stop is not None:
                    await stop()
            metrics.watch(None)
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
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, deadline_s=settings.body_timeout_s
    )
    wiring.include_routes(app, settings)  # behind the gate; the host check around them
    app.state.metrics = metrics
    app.add_middleware(RequestMetrics, metrics=metrics)  # counts refusals too
    app.add_middleware(RequestLog, node=settings.code)  # outermost: the request id, the log
    return app
