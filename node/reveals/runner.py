"""The supervised background task that ends reveal holds at the requester (node/supervisor.py)."""

import asyncio
import logging

from node.context import NodeContext
from node.reveals import service
from node.signals import CommitSignal
from node.supervisor import Stop

log = logging.getLogger("tiersync.reveals")
TASK = "reveal-purge"
EVERY_S = 30.0  # while a request waits for its answer: how often it is settled at the latest
LONGEST_S = 3600.0  # the longest it sleeps (a clock set forward ends holds within this)


def reveal_hook(ctx: NodeContext) -> Stop:
    """A startup hook for create_app: settle and purge (service.purge_round) under the
    supervisor (an iteration that raises is restarted with backoff, never silently lost) after
    a commit (a request made, an answer arrived; one look EVERY_S after the first commit of a
    burst), when the first held answer's hold ends, and every EVERY_S while a request waits for
    its answer. Idle, it reads nothing."""
    every = min(EVERY_S, max(ctx.settings.reveal_hold_s / 4, 1.0))
    signal = CommitSignal(asyncio.get_running_loop())
    ctx.db.on_commit(signal.notify)

    async def run() -> None:
        while True:
            event = signal.current()
            purged, after = await asyncio.to_thread(service.purge_round, ctx, every_s=every)
            if purged:
                log.info("reveal holds ended: %d answer(s) purged", purged)
            timeout = LONGEST_S if after is None else min(after, LONGEST_S)
            try:
                await asyncio.wait_for(event.wait(), timeout=timeout)
            except TimeoutError:
                continue
            await asyncio.sleep(every)  # the commits of a burst: one look after them

    return ctx.supervisor.spawn(TASK, run)
