"""Pushes the local change log to the parent: `run_once()` drains it, `run_forever()` keeps at it.

The child advances its cursor only after the parent's ack, and the ack follows the parent's
commit, so a crash anywhere loses nothing: the worst case is a batch sent twice, which the parent
applies idempotently. A 409 means the parent's cursor (the truth) differs: rewind and go on.

A node with nothing to push still sends an empty batch (its acked cursor, no records) once it
has not reached its parent for `heartbeat_s`: the parent records the contact, so an idle but
healthy subtree does not turn stale there, and the freshness of the nodes below rides along
(docs/protocol.md, Heartbeat).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import inf
from typing import Any

from federation.errors import CursorMismatch, FederationError, PeerRejected, PeerUnavailable
from federation.hlc import wall_ms
from federation.peer import ChangeStore, OutgoingBatch, Peer
from federation.retry import Health, Unwatched, backoff_delay, in_thread
from federation.waiting import within
from schemas.sync import PushAck

log = logging.getLogger("tiersync.replicator")


def loop_clock() -> float:
    """The running event loop's clock (time.monotonic, or a simulator's virtual time)."""
    return asyncio.get_running_loop().time()


@dataclass
class ReplicatorConfig:
    source: str
    batch_max_records: int = 5000
    batch_max_bytes: int = 4_000_000
    # The first batch of a round holds at most this many records, each next one twice the one
    # before, up to batch_max_records: the parent starts applying while the rest is read (the
    # pipeline fills sooner, docs/protocol.md "Pipelining"); 0 starts at batch_max_records.
    batch_first_records: int = 1000
    delay_s: float = 0.02
    retry_min_s: float = 0.2
    retry_max_s: float = 30.0
    heartbeat_s: float = 0.0  # an empty push after this long without contact; 0: never
    max_clock_skew_s: float = 300.0  # the parent's clock (in its acks) differs more: say so
    # Ask the parent's standing (cursor, highest version of ours it holds) on every
    # (re)connect, before pushing: a restored parent or child heals at once (Restores).
    check_standing: bool = False


@dataclass
class Replicator:
    store: ChangeStore
    peer: Peer
    config: ReplicatorConfig
    blocking: Callable[..., Awaitable[Any]] = in_thread
    # Told of every push round's outcome (node.supervisor). A local error (the database busy
    # or full) is not caught here: it leaves run_forever, and the supervisor restarts it.
    health: Health = field(default_factory=Unwatched)
    # Told when this node's clock is off from the parent's by more than max_clock_skew_s (a
    # message) and when it is right again (None): node/supervisor.py publishes it.
    clock_note: Callable[[str | None], None] = lambda _message: None
    clock_offset_ms: int | None = None  # parent's clock minus ours, at the last ack
    wall: Callable[[], int] = wall_ms
    last_success: datetime | None = None
    last_error: str | None = None
    clock: Callable[[], float] = loop_clock  # seconds; for the heartbeat only
    last_contact: float | None = None  # `clock` at the last ack from the parent
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None
    _standing_known: bool = False  # checked since the last (re)connect
    _acked: int | None = None  # the last cursor the parent acked (in memory)
    # Held by each push round of run_forever and by `resend`: an operator's rewind never lands
    # between a round's read and its ack (that ack would undo it).
    _round: asyncio.Lock = field(default_factory=asyncio.Lock)

    def notify(self) -> None:
        """Something was committed locally: push soon. Safe to call from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def reconnect(self) -> None:
        """The parent may have changed (the link came back, it restarted): ask its standing
        before the next push, and push soon."""
        self._standing_known = False
        self.notify()

    def parent_seen(self, push_cursor: int | None, *, reconnected: bool) -> None:
        """Another exchange heard from the parent (the directive pull): after a broken link,
        or when it holds less of this node's log than it acked (restored from a backup),
        check its standing and resend now rather than at the next heartbeat."""
        behind = push_cursor is not None and self._acked is not None and push_cursor < self._acked
        if reconnected or behind:
            self.reconnect()

    async def resend(self, since: int) -> int:
        """Rewind the acked cursor to `since` and push until the parent holds the whole log
        (an operator's resync at a serving node), between two rounds of `run_forever`, never
        beside one. Raises as `run_once` does; the rewind stands either way, so the next round
        resends from there."""
        async with self._round:
            await self.blocking(self.store.rewind, since)
            return await self.run_once()

    async def exclusive(self, work: Callable[[], Any]) -> Any:
        """Run `work` (blocking: it moves the acked cursor, e.g. a bundle's receipt) in a
        thread between two push rounds."""
        async with self._round:
            return await self.blocking(work)

    async def _check_standing(self) -> None:
        standing = await self.peer.standing(source=self.config.source)
        rewound = await self.blocking(self.store.reconcile, standing)
        if rewound is not None:
            log.warning(
                "the parent holds this node's log only up to %s (restored from a backup?): "
                "resending from there",
                rewound,
            )
        self._standing_known = True

    async def run_once(self, *, heartbeat: bool = False) -> int:
        """Push until the parent holds the whole log; returns records pushed. Raises on failure.

        Two pushes are in flight at most, and the batch after them is read meanwhile: the
        next batch is read, encoded and sent while the parent applies the current one (it
        applies one child's pushes in log order; see docs/protocol.md, Pipelining), and the
        one after it is read while both are on their way, so neither side waits for the other
        while there is more to send. Acks are saved in log order, each after its own ack.
        A batch that reaches the head of the log as it was read is the round's last: nothing
        is read after it (writes committed meanwhile call `notify`, which starts the next
        round of `run_forever`).
        With `heartbeat`, at least one batch reaches the parent, empty if there is nothing new.
        """
        pushed = 0
        owed = heartbeat
        if self.config.check_standing and not self._standing_known:
            await self._check_standing()
        sizes = self._batch_sizes()
        current = await self._read(await self.blocking(self.store.acked), next(sizes))
        if current.empty and not owed:
            return 0
        sending = self._send(current)
        ahead = self._read_after(current, sizes)  # the batch after `current`, being read
        while True:
            upcoming: OutgoingBatch | None = None
            following: asyncio.Future[PushAck] | None = None
            if ahead is not None:
                try:
                    upcoming = await ahead
                except BaseException:
                    await _discard(sending)
                    raise
                ahead = None
                if not upcoming.empty:
                    following = self._send(upcoming)
                    ahead = self._read_after(upcoming, sizes)
            try:
                ack = await sending
                await self.blocking(self.store.save_ack, until=current.until, durable=ack.durable)
            except CursorMismatch as mismatch:  # (from the push: saving an ack raises none)
                await _discard(following, ahead)
                log.warning("rewinding to parent cursor %s (%s)", mismatch.cursor, mismatch.reason)
                await self.blocking(self.store.rewind, mismatch.cursor)
                sizes = self._batch_sizes()
                current = await self._read(mismatch.cursor, next(sizes))
                if current.empty and not owed:
                    return pushed
                sending = self._send(current)
                ahead = self._read_after(current, sizes)
                continue
            except BaseException:
                await _discard(following, ahead)
                raise
            self._acked = current.until
            self.last_contact = self.clock()
            self._check_clock(ack)
            owed = False
            pushed += len(current.records)
            if upcoming is None or following is None:
                return pushed
            current, sending = upcoming, following

    def _read_after(
        self, batch: OutgoingBatch, sizes: Iterator[int]
    ) -> "asyncio.Future[OutgoingBatch] | None":
        """The read of the batch after `batch`, started now; None when `batch` reaches the head
        it was read at (the round's last)."""
        if batch.until >= batch.head:
            return None
        return asyncio.ensure_future(self._read(batch.until, next(sizes)))

    def _check_clock(self, ack: PushAck) -> None:
        """Compare this node's clock with the parent's time in its ack: loudly when off."""
        if ack.now_ms is None:
            return
        offset = ack.now_ms - self.wall()
        was_off = self._clock_off()
        self.clock_offset_ms = offset
        if self._clock_off():
            message = (
                f"this node's clock is {abs(offset) / 1000:,.0f} s "
                f"{'behind' if offset > 0 else 'ahead of'} its parent's (more than "
                f"TIERSYNC_MAX_CLOCK_SKEW_S = {self.config.max_clock_skew_s:g} s): versions it "
                "writes may be refused above; set the system clock right (NTP)"
            )
            if not was_off:
                log.error("%s", message)
            self.clock_note(message)
        elif was_off:
            log.warning("this node's clock agrees with its parent's again")
            self.clock_note(None)

    def _clock_off(self) -> bool:
        offset = self.clock_offset_ms
        return offset is not None and abs(offset) > self.config.max_clock_skew_s * 1000

    def _send(self, batch: OutgoingBatch) -> "asyncio.Future[PushAck]":
        return asyncio.ensure_future(self.peer.push(batch, source=self.config.source))

    def heartbeat_due(self) -> bool:
        """The parent has not heard from this node for `heartbeat_s` (or not since start)."""
        return self._until_heartbeat() <= 0

    def _until_heartbeat(self) -> float:
        """Seconds until a heartbeat is owed (infinite when heartbeats are off)."""
        if self.config.heartbeat_s <= 0:
            return inf
        if self.last_contact is None:
            return 0.0
        return self.last_contact + self.config.heartbeat_s - self.clock()

    def _batch_sizes(self) -> Iterator[int]:
        """The record bounds of a round's batches: from batch_first_records, doubling."""
        top = self.config.batch_max_records
        size = min(top, self.config.batch_first_records or top)
        while True:
            yield size
            size = min(top, size * 2)

    async def _read(self, since: int, max_records: int) -> OutgoingBatch:
        return await self.blocking(self._read_prepared, since, max_records)

    def _read_prepared(self, since: int, max_records: int) -> OutgoingBatch:
        """The next batch, encoded for the wire (in the same thread, off the event loop)."""
        batch = self.store.read_batch(
            since, max_records=max_records, max_bytes=self.config.batch_max_bytes
        )
        return batch if batch.empty else self.peer.prepare(batch, source=self.config.source)

    async def run_forever(self) -> None:
        """Push on every local change (after a short batching window), and a heartbeat when
        idle for `heartbeat_s`, retrying with backoff."""
        self._loop = asyncio.get_running_loop()
        failures = 0
        while True:
            try:
                async with self._round:
                    await self.run_once(heartbeat=self.heartbeat_due())
            except FederationError as exc:
                failures += 1
                self._standing_known = False  # the next contact is a reconnect
                self.health.failed(exc)
                await self._failed(exc)
                delay = backoff_delay(
                    failures,
                    low=self.config.retry_min_s,
                    cap=self.config.retry_max_s,
                    rejected=isinstance(exc, PeerRejected),
                )
                await self._sleep_or_wake(delay, wake_early=False)
                continue
            if failures or self.last_error:
                await self.blocking(self.store.save_error, None)
            failures = 0
            self.last_error = None
            self.last_success = datetime.now(UTC)
            self.health.ok()
            # Idle until a local commit (notify), a reconnect, or the heartbeat is due: nothing
            # is read meanwhile (another process's commits arrive as notify, node/wake.py).
            await self._sleep_or_wake(max(0.0, self._until_heartbeat()), wake_early=True)
            await asyncio.sleep(self.config.delay_s)  # batching window: gather a burst

    async def _failed(self, exc: FederationError) -> None:
        self.last_error = str(exc)
        level = logging.INFO if isinstance(exc, PeerUnavailable) else logging.ERROR
        log.log(level, "push failed: %s", exc)
        await self.blocking(self.store.save_error, self.last_error)

    async def _sleep_or_wake(self, seconds: float, *, wake_early: bool) -> None:
        if not wake_early:
            await asyncio.sleep(seconds)
            return
        await within(None if seconds == inf else seconds, self._wake.wait())
        self._wake.clear()


async def _discard(*tasks: "asyncio.Future[Any] | None") -> None:
    """Cancel pushes (or reads) that are no longer wanted and wait them out (a push the parent
    already received is applied there all the same, idempotently)."""
    for task in tasks:
        if task is None:
            continue
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
