"""Wires the live incident feed into a running node: started in the app's lifespan, woken by
commits (local writes and replicated batches alike), stopped — every stream ended — at shutdown."""

from collections.abc import Awaitable, Callable

from node.context import NodeContext
from node.live.broadcaster import Broadcaster


def live_hook(ctx: NodeContext) -> Callable[[], Awaitable[None]]:
    """A startup hook for create_app (called on the app's event loop)."""
    live = Broadcaster(ctx.db, node_code=ctx.identity.code)
    live.start(ctx.supervisor)
    ctx.db.on_commit(live.notify)
    ctx.live_feed = live
    return live.stop
