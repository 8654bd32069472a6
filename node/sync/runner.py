"""Wires the replicator into a running node: started in the app's lifespan, woken by commits."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from federation.http_peer import HttpPeer
from federation.replicator import Replicator, ReplicatorConfig
from node.context import NodeContext
from node.sync.outbox import SqlChangeStore


def build_replicator(ctx: NodeContext, *, transport: Any = None) -> Replicator:
    settings = ctx.settings
    if not settings.parent_url or not settings.parent_token:
        raise ValueError("replication needs TIERSYNC_PARENT_URL and TIERSYNC_PARENT_TOKEN")
    peer = HttpPeer(
        settings.parent_url,
        settings.parent_token,
        transport=transport,
        timeout_s=settings.parent_timeout_s,
    )
    config = ReplicatorConfig(
        source=settings.code,
        batch_max_records=settings.batch_max_records,
        batch_max_bytes=settings.batch_max_bytes,
        delay_s=settings.push_delay_ms / 1000,
        retry_max_s=settings.retry_max_s,
        heartbeat_s=settings.heartbeat_s,
    )
    replicator = Replicator(store=SqlChangeStore(ctx.db, settings.code), peer=peer, config=config)
    ctx.db.on_commit(replicator.notify)
    return replicator


def replication_hook(
    *, transport: Any = None, run: bool = True
) -> Callable[[NodeContext], Callable[[], Awaitable[None]] | None]:
    """A startup hook for create_app: builds the replicator and (unless run=False) starts it."""

    def start(ctx: NodeContext) -> Callable[[], Awaitable[None]] | None:
        if not ctx.settings.parent_url:
            return None
        replicator = build_replicator(ctx, transport=transport)
        ctx.extras["replicator"] = replicator
        task = asyncio.create_task(replicator.run_forever()) if run else None

        async def stop() -> None:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if isinstance(replicator.peer, HttpPeer):
                await replicator.peer.aclose()

        return stop

    return start
