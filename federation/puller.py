"""Pulls directives down from the parent: `run_once()` catches up, `run_forever()` long-polls.

The child dials up (it may sit behind NAT) and asks for what its parent holds for its subtree
after its cursor; the parent answers at once when it has something, else holds the request until
a directive arrives or the wait ends. The store applies a feed and its cursor in one transaction,
so a crash anywhere means at worst the same feed pulled again, which changes nothing.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from federation.errors import FederationError, PeerRejected, PeerUnavailable
from federation.peer import DirectiveSource, DirectiveStore
from federation.retry import Health, Unwatched, backoff_delay, in_thread
from schemas.directives import DirectiveFeed

log = logging.getLogger("tiersync.puller")


@dataclass
class PullerConfig:
    wait_s: float = 25.0
    retry_min_s: float = 0.2
    retry_max_s: float = 30.0


@dataclass
class Puller:
    store: DirectiveStore
    peer: DirectiveSource
    config: PullerConfig
    blocking: Callable[..., Awaitable[Any]] = in_thread
    health: Health = field(default_factory=Unwatched)  # told of every round (node.supervisor)
    last_success: datetime | None = None
    last_error: str | None = None
    # Told of every answer, and whether the link had failed before it (the node hands it to
    # the replicator: a parent that went back is noticed within one answer, docs/protocol.md).
    on_answer: Callable[[DirectiveFeed, bool], None] | None = None

    async def run_once(self) -> int:
        """Take everything the parent holds for this subtree now, without waiting.

        Returns the directive versions stored; raises FederationError on failure.
        """
        stored = 0
        since = await self.blocking(self.store.pull_cursor)
        while True:
            feed = await self.peer.pull_directives(since=since, wait_s=0)
            stored += await self.blocking(self.store.apply_feed, feed, since=since)
            self._answered(feed, reconnected=False)
            if not feed.more or feed.cursor <= since:
                return stored
            since = feed.cursor

    async def run_forever(self) -> None:
        """Long-poll the parent, apply what comes, repeat; back off while it is unreachable."""
        failures = 0
        more = False
        while True:
            try:
                since = await self.blocking(self.store.pull_cursor)
                # After a failure, ask without holding: the answer tells at once what the
                # parent holds of this node (a parent restored meanwhile; on_answer).
                wait = 0.0 if more or failures else self.config.wait_s
                clock = asyncio.get_running_loop().time  # virtual under the simulator
                started = clock()
                feed = await self.peer.pull_directives(since=since, wait_s=wait)
                await self.blocking(self.store.apply_feed, feed, since=since)
                self._answered(feed, reconnected=failures > 0)
                more = feed.more and feed.cursor > since
                if wait and not feed.records and clock() - started < wait / 2:
                    # An empty answer well before the wait ended (the parent shutting down):
                    # do not spin on it.
                    await asyncio.sleep(min(self.config.retry_max_s, 1.0))
            except Exception as exc:
                # A local failure (database busy or full) is retried like an unreachable parent.
                error = exc if isinstance(exc, FederationError) else _local(exc)
                failures += 1
                self.health.failed(exc)
                await self._failed(error)
                await asyncio.sleep(
                    backoff_delay(
                        failures,
                        low=self.config.retry_min_s,
                        cap=self.config.retry_max_s,
                        rejected=isinstance(error, PeerRejected),
                    )
                )
                continue
            if failures or self.last_error:
                await self.blocking(self.store.save_pull_error, None)
            failures = 0
            self.last_error = None
            self.last_success = datetime.now(UTC)
            self.health.ok()

    def _answered(self, feed: DirectiveFeed, *, reconnected: bool) -> None:
        if self.on_answer is not None:
            try:
                self.on_answer(feed, reconnected)
            except Exception:  # the pull goes on whatever the listener does
                log.exception("the directive answer's listener failed")

    async def _failed(self, exc: FederationError) -> None:
        self.last_error = str(exc)
        level = logging.INFO if isinstance(exc, PeerUnavailable) else logging.ERROR
        log.log(level, "directive pull failed: %s", exc)
        try:
            await self.blocking(self.store.save_pull_error, self.last_error)
        except Exception:
            log.exception("could not record the pull error")


def _local(exc: Exception) -> FederationError:
    log.exception("directive pull failed locally", exc_info=exc)
    return FederationError(f"{exc.__class__.__name__}: {exc}")
