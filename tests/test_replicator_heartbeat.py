"""The replicator's heartbeat on its own: an in-memory change store and a recording parent, so
what is sent, and when, is visible exactly."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from federation.errors import PeerUnavailable
from federation.peer import OutgoingBatch
from federation.replicator import Replicator, ReplicatorConfig
from schemas.sync import PushAck


@dataclass
class MemoryStore:
    """A change log of bare positions; `acked_seq` is what the parent acknowledged."""

    log: list[int] = field(default_factory=list)
    acked_seq: int = 0

    def acked(self) -> int:
        return self.acked_seq

    def read_batch(self, since: int, *, max_records: int, max_bytes: int) -> OutgoingBatch:
        seqs = [s for s in self.log if s > since][:max_records]
        return OutgoingBatch(
            since=since,
            until=seqs[-1] if seqs else since,
            head=max(self.log, default=0),
            records=[{"seq": s} for s in seqs],
            units=[],
        )

    def save_ack(self, *, until: int, durable: int) -> None:
        self.acked_seq = until

    def rewind(self, cursor: int) -> None:
        self.acked_seq = cursor

    def save_error(self, message: str | None) -> None:
        pass


@dataclass
class RecordingParent:
    batches: list[OutgoingBatch] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    down: bool = False
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def prepare(self, batch: OutgoingBatch, *, source: str) -> OutgoingBatch:
        return batch

    async def push(self, batch: OutgoingBatch, *, source: str) -> PushAck:
        if self.down:
            raise PeerUnavailable("link down")
        self.batches.append(batch)
        self.at.append(time.monotonic())
        self.arrived.set()
        return PushAck(
            cursor=batch.until, applied=len(batch.records), stale=0, quarantined=0, durable=0
        )

    async def cursor(self, *, source: str) -> int:
        return 0


async def direct(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def replicator(store: MemoryStore, parent: RecordingParent, **config: Any) -> Replicator:
    defaults: dict[str, Any] = {"delay_s": 0.0}
    return Replicator(
        store=store,
        peer=parent,
        config=ReplicatorConfig(source="632322101201", **(defaults | config)),
        blocking=direct,
    )


@contextlib.asynccontextmanager
async def running(rep: Replicator) -> AsyncIterator[None]:
    task = asyncio.create_task(rep.run_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_an_idle_loop_beats_every_heartbeat_s_not_every_idle_poll() -> None:
    store, parent = MemoryStore(log=[1, 2], acked_seq=2), RecordingParent()
    rep = replicator(store, parent, heartbeat_s=0.05)
    async with running(rep):
        while len(parent.batches) < 3:  # nothing committed: only the heartbeat wakes it
            await asyncio.wait_for(parent.arrived.wait(), timeout=2)
            parent.arrived.clear()
    for batch in parent.batches:
        assert (batch.since, batch.until, batch.records) == (2, 2, [])
    gaps = [b - a for a, b in zip(parent.at, parent.at[1:], strict=False)]
    assert all(gap >= 0.04 for gap in gaps), gaps  # spaced by the heartbeat, not hammering
    assert store.acked_seq == 2


async def test_with_heartbeat_off_an_idle_loop_sends_nothing() -> None:
    store, parent = MemoryStore(log=[1, 2], acked_seq=2), RecordingParent()
    rep = replicator(store, parent, heartbeat_s=0)
    async with running(rep):
        await asyncio.sleep(0.2)
    assert parent.batches == []
    assert rep.heartbeat_due() is False


async def test_a_push_counts_as_contact_and_a_beat_with_news_sends_only_the_news() -> None:
    now = [1000.0]
    store, parent = MemoryStore(log=[1, 2]), RecordingParent()
    rep = replicator(store, parent, heartbeat_s=60)
    rep.clock = lambda: now[0]
    assert rep.heartbeat_due()  # never heard from since start: beat at once

    assert await rep.run_once(heartbeat=True) == 2
    assert [(b.since, b.until) for b in parent.batches] == [(0, 2)]  # no empty batch after it
    assert not rep.heartbeat_due()
    now[0] += 59
    assert not rep.heartbeat_due()
    now[0] += 1
    assert rep.heartbeat_due()

    assert await rep.run_once() == 0 and len(parent.batches) == 1  # nothing new, no beat asked
    await rep.run_once(heartbeat=True)
    assert [(b.since, b.until, b.records) for b in parent.batches[1:]] == [(2, 2, [])]
    assert not rep.heartbeat_due()


async def test_a_beat_that_cannot_reach_the_parent_is_still_owed() -> None:
    now = [1000.0]
    store, parent = MemoryStore(log=[1], acked_seq=1), RecordingParent(down=True)
    rep = replicator(store, parent, heartbeat_s=60)
    rep.clock = lambda: now[0]
    with pytest.raises(PeerUnavailable):
        await rep.run_once(heartbeat=True)
    assert rep.heartbeat_due() and rep.last_contact is None
    parent.down = False
    await rep.run_once(heartbeat=True)
    assert len(parent.batches) == 1 and rep.last_contact == 1000.0
