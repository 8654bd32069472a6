"""The supervised background task that ends reveal holds at the requester (node/supervisor.py)."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from node.context import NodeContext
from node.reveals import service
from node.supervisor import Stop

log = logging.getLogger("tiersync.reveals")
TASK = "reveal-purge"
EVERY_S = 30.0  # how often the requester settles arrived answers and purges ended holds
# A look at least this often even when nothing committed: a commit of another process that
# announces itself to nobody (node/wake.py: nobody listening, PostgreSQL from another host)
# is seen within it.
RECHECK_S = 300.0


@dataclass
class Purger:
    """`service.purge_due` on every tick, unless it cannot have anything to do: no commit (of
    this process, or announced by another, Database.generation) since a look that found
    nothing pending and no hold that has ended since. An idle node reads nothing then."""

    ctx: NodeContext
    recheck_s: float = RECHECK_S
    _seen: int | None = None  # Database.generation taken before the last look
    _due: datetime | None = None  # when the next look is due without a commit

    def tick(self) -> int:
        """One round; how many answers were purged."""
        db = self.ctx.db
        generation = db.generation  # taken before the read: a commit after it is not missed
        now = service.now_of(db)
        if generation == self._seen and self._due is not None and now < self._due:
            return 0
        purged, due = service.purge_due(self.ctx, now=now)
        self._seen = generation
        recheck = now + timedelta(seconds=self.recheck_s)
        self._due = recheck if due is None else min(due, recheck)
        return purged


def reveal_hook(ctx: NodeContext) -> Stop:
    """A startup hook for create_app: run `Purger.tick` every EVERY_S under the supervisor
    (an iteration that raises is restarted with backoff, never silently lost)."""
    every = min(EVERY_S, max(ctx.settings.reveal_hold_s / 4, 1.0))
    purger = Purger(ctx)

    async def run() -> None:
        while True:
            purged = await asyncio.to_thread(purger.tick)
            if purged:
                log.info("reveal holds ended: %d answer(s) purged", purged)
            await asyncio.sleep(every)

    return ctx.supervisor.spawn(TASK, run)
