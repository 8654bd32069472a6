"""The tombstone collector of a serving node: a supervised loop (node/supervisor.py)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from node.context import NodeContext
from node.tombstones.service import collect_here

TASK = "tombstone-collector"
Stop = Callable[[], Awaitable[None]]
log = logging.getLogger("tiersync.tombstones")


def collector_hook(*, run: bool = True) -> Callable[[NodeContext], Stop | None]:
    """A startup hook for create_app: collect every `TIERSYNC_TOMBSTONE_COLLECT_S` (0: never).

    A run that raises goes out of the loop: the supervisor logs it, marks the task failing
    (/readyz, `tiersync status`) and starts it again after its backoff.
    """

    def start(ctx: NodeContext) -> Stop | None:
        every_s = ctx.settings.tombstone_collect_s
        if not run or every_s <= 0:
            return None
        health = ctx.supervisor.reporter(TASK)

        async def loop() -> None:
            while True:
                result = await asyncio.to_thread(collect_here, ctx)
                health.ok()
                if result.tombstones:
                    log.info(
                        "collected %d tombstone(s) up to log position %d",
                        result.tombstones,
                        result.upto_seq,
                    )
                await asyncio.sleep(every_s)

        return ctx.supervisor.spawn(TASK, loop)

    return start
