"""Startup hook of the directives domain: the long-poll signal, and the puller at a child."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from federation.http_peer import HttpPeer
from federation.puller import Puller, PullerConfig
from node.context import NodeContext
from node.directives.feed import FeedSignal, attach
from node.directives.inbound import SqlDirectiveStore

SIGNAL = "directive_signal"
PULLER = "puller"
LONG_POLL_S = 25.0


def build_puller(ctx: NodeContext, *, transport: Any = None) -> Puller:
    settings = ctx.settings
    if not settings.parent_url or not settings.parent_token:
        raise ValueError("pulling directives needs TIERSYNC_PARENT_URL and TIERSYNC_PARENT_TOKEN")
    peer = HttpPeer(
        settings.parent_url,
        settings.parent_token,
        transport=transport,
        timeout_s=settings.parent_timeout_s,
    )
    config = PullerConfig(wait_s=LONG_POLL_S, retry_max_s=settings.retry_max_s)
    return Puller(store=SqlDirectiveStore(ctx.db, settings.code), peer=peer, config=config)


def directives_hook(
    *, transport: Any = None, run: bool = True
) -> Callable[[NodeContext], Callable[[], Awaitable[None]] | None]:
    """A startup hook for create_app: wakes held polls on directive commits and (unless
    run=False) pulls from the parent.

    With run=False the puller is built but not started, for tests that call `run_once()`.
    """

    def start(ctx: NodeContext) -> Callable[[], Awaitable[None]] | None:
        signal = FeedSignal(asyncio.get_running_loop())
        attach(ctx.db, signal)
        ctx.extras[SIGNAL] = signal
        puller = build_puller(ctx, transport=transport) if ctx.settings.parent_url else None
        if puller is not None:
            ctx.extras[PULLER] = puller
        task = asyncio.create_task(puller.run_forever()) if puller and run else None

        async def stop() -> None:
            signal.close()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if puller is not None and isinstance(puller.peer, HttpPeer):
                await puller.peer.aclose()

        return stop

    return start
