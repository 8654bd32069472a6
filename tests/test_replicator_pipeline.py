"""Two pushes in flight: the child sends its next batch while the parent applies the current
one; acks are saved in log order, a failure keeps nothing after it, and the parent applies one
child's pushes in log order whatever order they reach it in."""

import asyncio
from dataclasses import dataclass, field

import pytest

from federation.errors import CursorMismatch, PeerUnavailable
from federation.peer import OutgoingBatch
from schemas.sync import PushAck
from tests.cluster import Cluster
from tests.factories import person
from tests.test_replicator_heartbeat import MemoryStore, replicator

VILLAGE, TOWNSHIP = "632322101201", "632322101"


@dataclass
class SlowParent:
    """Answers each push after `delay_s`; records how many were in flight at once."""

    delay_s: float = 0.02
    fail_since: int | None = None  # the push starting there fails (PeerUnavailable)
    mismatch_since: int | None = None  # the push starting there gets a 409 to cursor 0
    in_flight: int = 0
    most_in_flight: int = 0
    received: list[tuple[int, int]] = field(default_factory=list)

    def prepare(self, batch: OutgoingBatch, *, source: str) -> OutgoingBatch:
        return batch

    async def push(self, batch: OutgoingBatch, *, source: str) -> PushAck:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.received.append((batch.since, batch.until))
        try:
            await asyncio.sleep(self.delay_s)
            if batch.since == self.fail_since:
                raise PeerUnavailable("link dropped")
            if batch.since == self.mismatch_since:
                self.mismatch_since = None
                raise CursorMismatch(0, "parent restored")
            return PushAck(
                cursor=batch.until, applied=len(batch.records), stale=0, quarantined=0, durable=0
            )
        finally:
            self.in_flight -= 1

    async def cursor(self, *, source: str) -> int:
        return 0


class AckLog(MemoryStore):
    """A MemoryStore that remembers every ack it saved, in order."""

    def __init__(self, log: list[int]) -> None:
        super().__init__(log=log)
        self.acks: list[int] = []

    def save_ack(self, *, until: int, durable: int) -> None:
        self.acks.append(until)
        super().save_ack(until=until, durable=durable)


async def test_the_next_batch_is_sent_while_the_current_one_is_applied() -> None:
    store, parent = AckLog(list(range(1, 11))), SlowParent()
    pushed = await replicator(store, parent, batch_max_records=2).run_once()
    assert pushed == 10
    assert parent.most_in_flight == 2
    assert store.acks == [2, 4, 6, 8, 10]  # each ack saved, in log order
    assert parent.received == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]


async def test_a_round_starts_with_a_small_batch_and_doubles_up_to_the_bound() -> None:
    """The parent starts applying while the rest of a long backlog is read: the first batch of
    a round holds batch_first_records, each next one twice as many, up to batch_max_records;
    every round starts small again."""
    store, parent = AckLog(list(range(1, 41))), SlowParent(delay_s=0.001)
    rep = replicator(store, parent, batch_max_records=8, batch_first_records=2)
    assert await rep.run_once() == 40
    sizes = [until - since for since, until in parent.received]
    assert sizes == [2, 4, 8, 8, 8, 8, 2]
    assert store.acks == [2, 6, 14, 22, 30, 38, 40]
    store.log.extend(range(41, 46))
    parent.received.clear()
    assert await rep.run_once() == 5
    assert [until - since for since, until in parent.received] == [2, 3]
    whole = replicator(AckLog(list(range(1, 11))), SlowParent(), batch_max_records=4)
    whole.config.batch_first_records = 0  # 0: every batch at the bound
    await whole.run_once()
    assert [u - s for s, u in whole.peer.received] == [4, 4, 2]  # type: ignore[attr-defined]


class CountingLog(AckLog):
    """Counts the batches read (each one a snapshot of the log and its push sections)."""

    def __init__(self, log: list[int]) -> None:
        super().__init__(log)
        self.reads: list[int] = []

    def read_batch(self, since: int, *, max_records: int, max_bytes: int) -> OutgoingBatch:
        self.reads.append(since)
        return super().read_batch(since, max_records=max_records, max_bytes=max_bytes)


async def test_the_batch_that_reaches_the_head_is_the_last_read_of_a_round() -> None:
    """No empty batch is read after the last one only to be thrown away (at a node, each read
    costs a snapshot and every push section, the digest report among them); a write committed
    during the push wakes the next round, which sends it."""
    store, parent = CountingLog(list(range(1, 6))), SlowParent()
    rep = replicator(store, parent, batch_max_records=2)
    assert await rep.run_once() == 5
    assert store.reads == [0, 2, 4]  # on main: [0, 2, 4, 5], the last one empty
    assert parent.received == [(0, 2), (2, 4), (4, 5)]
    store.reads.clear()
    assert await rep.run_once() == 0 and store.reads == [5]  # nothing new: one read
    task = asyncio.create_task(rep.run_forever())
    try:
        await asyncio.sleep(0.01)
        store.log.append(6)  # committed while the loop idles, or during a push
        rep.notify()
        for _ in range(200):
            if store.acked_seq == 6:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert store.acked_seq == 6 and parent.received[-1] == (5, 6)


class EventLog(CountingLog):
    """Every read and saved ack, in the order they happened."""

    def __init__(self, log: list[int]) -> None:
        super().__init__(log)
        self.events: list[str] = []

    def read_batch(self, since: int, *, max_records: int, max_bytes: int) -> OutgoingBatch:
        self.events.append(f"read {since}")
        return super().read_batch(since, max_records=max_records, max_bytes=max_bytes)

    def save_ack(self, *, until: int, durable: int) -> None:
        self.events.append(f"ack {until}")
        super().save_ack(until=until, durable=durable)


async def test_the_batch_after_the_two_in_flight_is_read_before_the_first_ack() -> None:
    """The child never waits for an ack to read on: with two pushes on their way it reads the
    third, so a parent that applies faster than the child reads is never left idle (on main:
    read 4 came after ack 2, a bubble of one read per batch at the parent)."""
    store, parent = EventLog(list(range(1, 9))), SlowParent(delay_s=0.02)
    assert await replicator(store, parent, batch_max_records=2).run_once() == 8
    assert store.events[:4] == ["read 0", "read 2", "read 4", "ack 2"]
    assert store.events.count("read 6") == 1 and store.events[-1] == "ack 8"
    assert parent.most_in_flight == 2  # still two pushes at most
    assert store.acks == [2, 4, 6, 8]


async def test_a_failed_push_keeps_no_ack_after_it_and_the_next_run_resends_from_there() -> None:
    store, parent = AckLog(list(range(1, 11))), SlowParent(fail_since=4)
    with pytest.raises(PeerUnavailable):
        await replicator(store, parent, batch_max_records=2).run_once()
    assert store.acks == [2, 4] and store.acked_seq == 4  # the push after the failure is dropped
    parent.fail_since = None
    assert await replicator(store, parent, batch_max_records=2).run_once() == 6
    assert store.acked_seq == 10


async def test_a_409_on_a_pipelined_push_rewinds_to_the_parent_cursor() -> None:
    store, parent = AckLog(list(range(1, 7))), SlowParent(mismatch_since=2)
    await replicator(store, parent, batch_max_records=2).run_once()
    assert store.acked_seq == 6
    assert parent.received[-3:] == [(0, 2), (2, 4), (4, 6)]  # resent from the parent's cursor


async def test_the_parent_applies_two_pushes_in_log_order_whatever_their_arrival(
    chain: Cluster,
) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    for _ in range(6):
        await village.write(person())
    store, peer = village.replicator.store, village.replicator.peer
    first = store.read_batch(0, max_records=3, max_bytes=10**6)
    second = store.read_batch(first.until, max_records=100, max_bytes=10**6)
    assert first.records and second.records and second.until == second.head
    # The second push reaches the parent first: it waits for the first instead of a 409.
    later, earlier = await asyncio.gather(
        peer.push(second, source=VILLAGE), peer.push(first, source=VILLAGE)
    )
    assert (earlier.applied, earlier.cursor) == (len(first.records), first.until)
    assert (later.applied, later.cursor) == (len(second.records), second.until)
    assert (await township.summary())["counts"] == {"person": 6}


async def test_a_push_beyond_the_cursor_with_nothing_before_it_is_still_refused(
    chain: Cluster,
) -> None:
    village = chain.nodes[VILLAGE]
    for _ in range(4):
        await village.write(person())
    store, peer = village.replicator.store, village.replicator.peer
    first = store.read_batch(0, max_records=2, max_bytes=10**6)
    second = store.read_batch(first.until, max_records=2, max_bytes=10**6)
    with pytest.raises(CursorMismatch) as refused:
        await asyncio.wait_for(peer.push(second, source=VILLAGE), 5)
    assert refused.value.cursor == 0
