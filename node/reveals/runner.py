"""The supervised background task that ends reveal holds at the requester (node/supervisor.py)."""

import asyncio
import logging

from node.context import NodeContext
from node.reveals import service
from node.supervisor import Stop

log = logging.getLogger("tiersync.reveals")
TASK = "reveal-purge"
EVERY_S = 30.0  # how often the requester settles arrived answers and purges ended holds


def reveal_hook(ctx: NodeContext) -> Stop:
    """A startup hook for create_app: run `purge_expired` every EVERY_S under the supervisor
    (an iteration that raises is restarted with backoff, never silently lost)."""
    every = min(EVERY_S, max(ctx.settings.reveal_hold_s / 4, 1.0))

    async def run() -> None:
        while True:
            purged = await asyncio.to_thread(service.purge_expired, ctx)
            if purged:
                log.info("reveal holds ended: %d answer(s) purged", purged)
            await asyncio.sleep(every)

    return ctx.supervisor.spawn(TASK, run)
