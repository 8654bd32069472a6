"""Heartbeat: an idle but healthy node keeps its subtree fresh at every ancestor by pushing an
empty batch every `heartbeat_s` (docs/protocol.md, Heartbeat). Time is an injected clock; each
replicator does what one turn of `run_forever` does, so two idle hours take milliseconds."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from federation.errors import PeerUnavailable
from tests.cluster import Cluster
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import person
from tests.test_views_freshness import GRID, FakeClock, freshness_at, row

HEARTBEAT_S = 600


async def build(cluster: Cluster, *, heartbeat_s: float) -> FakeClock:
    """The chain on one fake clock; the village writes once and its push reaches the top."""
    settings = {"stale_after_s": 3600, "heartbeat_s": heartbeat_s}
    await cluster.add(PREFECTURE, "Huangnan Prefecture", **settings)
    await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE, **settings)
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY, **settings)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP, **settings)
    clock = FakeClock(cluster.nodes[PREFECTURE].ctx.db.clock())
    for node in cluster.nodes.values():
        node.ctx.db.clock = clock
        if node.settings.parent_url:
            node.replicator.clock = lambda: clock.ms / 1000
    await cluster.nodes[VILLAGE].write(person(unit=GRID))
    await cluster.sync()
    return clock


async def idle(cluster: Cluster, clock: FakeClock, *, hours: int) -> None:
    """Let time pass in heartbeat-long steps with nothing written anywhere.

    Each step every replicator takes one turn, top down: the slowest order for news from below
    (a node beats before its child does), so a village's time reaches the prefecture two steps
    late. A push that cannot reach its parent fails, as it would in the loop.
    """
    for _ in range(hours * 3600 // HEARTBEAT_S):
        clock.ms += HEARTBEAT_S * 1000
        for code in sorted(cluster.nodes, key=len):
            node = cluster.nodes[code]
            if node.settings.parent_url:
                replicator = node.replicator
                with contextlib.suppress(PeerUnavailable):
                    await replicator.run_once(heartbeat=replicator.heartbeat_due())


async def stale_children(cluster: Cluster, node: str, unit: str) -> list[str]:
    return (await freshness_at(cluster, node, unit))["stale_children"]  # type: ignore[no-any-return]


@pytest.fixture
async def on_each_engine(
    tmp_path: Path, database_url_factory: Callable[[str], str]
) -> AsyncIterator[Cluster]:
    """A cluster on SQLite, then on PostgreSQL: the parent's side of an empty push on both."""
    cluster = Cluster(tmp_path, database_url_factory)
    try:
        yield cluster
    finally:
        await cluster.close()


async def test_an_idle_village_stays_fresh_at_every_ancestor(on_each_engine: Cluster) -> None:
    cluster = on_each_engine
    clock = await build(cluster, heartbeat_s=HEARTBEAT_S)
    await idle(cluster, clock, hours=2)

    for node in (PREFECTURE, COUNTY, TOWNSHIP):
        for unit in (PREFECTURE, COUNTY, TOWNSHIP):
            if len(unit) >= len(node):
                assert await stale_children(cluster, node, unit) == [], (node, unit)
    village = row(await freshness_at(cluster, PREFECTURE, TOWNSHIP), VILLAGE)
    assert village["stale"] is False
    assert 0 < village["age_s"] <= 3 * HEARTBEAT_S  # three hops, each at most a beat late
    # The heartbeats stored nothing: no record, no change to push up, the counts unchanged.
    store = cluster.nodes[TOWNSHIP].replicator.store
    pending = store.read_batch(store.acked(), max_records=100, max_bytes=1_000_000)
    assert pending.empty and pending.records == [] and pending.units == []
    assert (await cluster.nodes[PREFECTURE].summary())["counts"] == {"person": 1}


async def test_without_heartbeat_an_idle_village_turns_stale(cluster: Cluster) -> None:
    clock = await build(cluster, heartbeat_s=0)
    sent = dict(cluster.router.requests)
    await idle(cluster, clock, hours=2)

    assert cluster.router.requests == sent  # nobody contacted a parent
    assert await stale_children(cluster, PREFECTURE, PREFECTURE) == [COUNTY]
    assert await stale_children(cluster, PREFECTURE, TOWNSHIP) == [VILLAGE]
    assert await stale_children(cluster, TOWNSHIP, TOWNSHIP) == [VILLAGE]


async def test_a_village_whose_link_is_down_turns_stale_alone(cluster: Cluster) -> None:
    clock = await build(cluster, heartbeat_s=HEARTBEAT_S)
    cluster.router.down.add(TOWNSHIP)  # the village cannot reach its township
    await idle(cluster, clock, hours=2)

    assert await stale_children(cluster, TOWNSHIP, TOWNSHIP) == [VILLAGE]
    assert await stale_children(cluster, PREFECTURE, TOWNSHIP) == [VILLAGE]
    # The ancestors above it keep beating: only the village's subtree is flagged.
    assert await stale_children(cluster, PREFECTURE, PREFECTURE) == []
    assert await stale_children(cluster, PREFECTURE, COUNTY) == []
    at_top = row(await freshness_at(cluster, PREFECTURE, TOWNSHIP), VILLAGE)
    assert at_top["stale"] is True and at_top["age_s"] == 2 * 3600

    cluster.router.down.discard(TOWNSHIP)  # back up: the next beats carry it to the top
    await idle(cluster, clock, hours=1)
    assert await stale_children(cluster, PREFECTURE, TOWNSHIP) == []


async def test_live_nodes_beat_on_their_own(tmp_path: Path) -> None:
    """The real loops on the real clock, with a heartbeat much shorter than stale_after_s."""
    settings = {"stale_after_s": 0.5, "heartbeat_s": 0.05, "push_delay_ms": 0}
    cluster = Cluster(tmp_path, live=True)
    try:
        await cluster.add(PREFECTURE, "Huangnan Prefecture", **settings)
        await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE, **settings)
        await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY, **settings)
        await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP, **settings)
        top = cluster.nodes[PREFECTURE]
        await cluster.nodes[VILLAGE].write(person(unit=GRID))
        deadline = time.monotonic() + 5
        while (await top.summary())["counts"] != {"person": 1}:
            assert time.monotonic() < deadline, "the record did not reach the prefecture"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.7)  # longer than stale_after_s with nothing written
        assert await stale_children(cluster, PREFECTURE, PREFECTURE) == []
        assert await stale_children(cluster, PREFECTURE, TOWNSHIP) == []
        assert cluster.nodes[VILLAGE].replicator.last_error is None
    finally:
        await cluster.close()
