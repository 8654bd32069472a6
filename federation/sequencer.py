"""One child's pushes applied in log order when it has two in flight (docs/protocol.md,
Pipelining).

A child sends its next batch while the parent still applies the current one, so the parent is
never idle between batches. The batches may be parsed in any order, but a batch can only be
applied once the parent's cursor has reached its `since`: this holds a parsed batch until its
predecessor from the same child has been applied (at most WAIT_S), or, with none in sight,
for a moment (GRACE_S). A batch that still starts beyond the cursor after that is a real gap,
and the apply answers 409 with the cursor as before. Nothing here is needed for correctness
(every apply is idempotent and the cursor check is in the apply's transaction); it only keeps
pipelined pushes from being refused.
"""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

from federation.waiting import within

WAIT_S = 10.0  # the longest a batch waits for its predecessor before it is applied anyway
GRACE_S = 0.25  # how long a batch beyond the cursor waits for a predecessor not yet in sight


class PushSequencer:
    def __init__(self, *, wait_s: float = WAIT_S, grace_s: float = GRACE_S) -> None:
        self.wait_s = wait_s
        self.grace_s = grace_s
        self._changed = asyncio.Condition()
        self._cursors: dict[str, int] = {}
        self._arrived: Counter[str] = Counter()  # pushes of each child being received or applied
        self._applying: set[str] = set()

    @contextlib.asynccontextmanager
    async def arrival(self, child: str) -> AsyncIterator[None]:
        """Around the whole request, from before its body is read: it counts as on its way."""
        self._arrived[child] += 1
        try:
            yield
        finally:
            self._arrived[child] -= 1
            async with self._changed:
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def turn(
        self, child: str, since: int, cursor_of: Callable[[], Awaitable[int]]
    ) -> AsyncIterator[Callable[[int], None]]:
        """Wait until this batch is next for its child, then hold the child's turn while it is
        applied. Yields `applied(cursor)`, to call with the cursor of the ack."""
        if child not in self._cursors:
            self._cursors.setdefault(child, await cursor_of())
        loop = asyncio.get_running_loop()
        async with self._changed:
            started = loop.time()
            while not self._next(child, since):
                # Another push of this child on its way may be the predecessor: wait for it.
                # None in sight: give one a moment to show up (its credential check may simply
                # have been slower than ours), then it is a real gap and the apply says 409.
                alone = self._arrived[child] <= 1 and child not in self._applying
                left = started + (self.grace_s if alone else self.wait_s) - loop.time()
                if left <= 0:
                    break
                await within(left, self._changed.wait())
            await self._changed.wait_for(lambda: child not in self._applying)
            self._applying.add(child)

        def applied(cursor: int) -> None:
            self._cursors[child] = cursor

        try:
            yield applied
        finally:
            async with self._changed:
                self._applying.discard(child)
                self._changed.notify_all()

    def _next(self, child: str, since: int) -> bool:
        return child not in self._applying and since <= self._cursors[child]
