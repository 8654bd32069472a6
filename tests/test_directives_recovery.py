"""Directives through lost links and restarts, and the long poll's promptness (fresh networks)."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from node.directives import repository
from node.directives.runner import LONG_POLL_S
from schemas.directives import receipt_id
from tests.cluster import Cluster
from tests.directives_support import (
    DONGMEN,
    JIANZHA,
    KANGYANG,
    PREFECTURE,
    WEST_VILLAGE,
    copies_of,
    counts,
    deliver,
    inbox,
    issue,
    migrated_sqlite,
    progress,
    pull_all,
    puller,
    report,
)

__all__ = ["migrated_sqlite"]


async def line(cluster: Cluster) -> Cluster:
    """Prefecture → county → township → two villages."""
    await cluster.add(PREFECTURE, "Huangnan Prefecture")
    await cluster.add(JIANZHA, "Jianzha County", parent=PREFECTURE)
    await cluster.add(KANGYANG, "Kangyang Town", parent=JIANZHA)
    await cluster.add(DONGMEN, "Dongmen Village", parent=KANGYANG)
    await cluster.add(WEST_VILLAGE, "West Village", parent=KANGYANG)
    await cluster.sync()
    return cluster


@pytest.fixture
async def net(tmp_path: Path, migrated_sqlite: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path, copies_of(migrated_sqlite, tmp_path))
    try:
        yield await line(cluster)
    finally:
        await cluster.close()


async def test_offline_village_receives_on_reconnect_exactly_once(net: Cluster) -> None:
    net.router.down.add(KANGYANG)  # both villages lose their link to the township for days
    top, dongmen = net.nodes[PREFECTURE], net.nodes[DONGMEN]
    sent = await issue(top, target={"subtree": True}, kind="notice")
    with pytest.raises(Exception, match="down"):
        await puller(dongmen).run_once()
    await deliver(net)
    assert await inbox(dongmen) == []
    assert counts(await progress(top, sent["id"]))[:2] == (4, 1)  # the county's receipt only
    net.router.down.discard(KANGYANG)
    for _ in range(3):  # reconnect, then pull again and again: one delivery, one receipt
        await deliver(net)
    [item] = await inbox(dongmen)
    assert (item["id"], item["state"]) == (sent["id"], "delivered")
    path = f"/api/v1/records/{receipt_id(item['id'], DONGMEN)}"
    first = (await dongmen.client.get(path)).json()["version"]
    await deliver(net)
    assert (await dongmen.client.get(path)).json()["version"] == first
    with dongmen.ctx.db.read() as conn:
        pull = repository.get_pull(conn)
    assert pull is not None and pull.received == 1
    assert counts(await progress(top, sent["id"])) == (4, 4, 0, 0, 0)


async def test_restart_between_delivery_and_receipt(net: Cluster) -> None:
    sent = await issue(net.nodes[JIANZHA], target={"level": "village"}, kind="task")
    await pull_all(net)  # delivered at both villages; no receipt has gone up yet
    dongmen = await net.restart(DONGMEN)
    assert await puller(dongmen).run_once() == 0  # nothing is stored twice after the restart
    assert [i["state"] for i in await inbox(dongmen)] == ["delivered"]
    assert (await report(dongmen, sent["id"], "done", "finished")).status_code == 200
    kangyang = await net.restart(KANGYANG)  # the relay restarts too, before the push
    assert await puller(kangyang).run_once() == 0
    await net.sync()
    assert counts(await progress(net.nodes[JIANZHA], sent["id"])) == (2, 2, 1, 1, 0)
    assert counts(await progress(net.nodes[PREFECTURE], sent["id"])) == (2, 2, 1, 1, 0)


async def test_long_poll_brings_a_directive_down_three_levels_promptly(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    cluster = Cluster(tmp_path, copies_of(migrated_sqlite, tmp_path), live=True)
    try:
        await line(cluster)
        top, village = cluster.nodes[PREFECTURE], cluster.nodes[DONGMEN]
        await asyncio.sleep(0.5)  # every puller is now holding a long poll at its parent
        started = time.perf_counter()
        sent = await issue(top, target={"units": [DONGMEN]}, kind="task")
        # Each puller holds its poll for LONG_POLL_S (25 s): arriving within half of one hold
        # proves the held polls were woken by the commit at each level, not timed out. (How
        # fast it really is, is measured in bench/, not asserted here.)
        await wait_until(lambda: has_inbox(village), LONG_POLL_S / 2)
        down_s = time.perf_counter() - started
        assert (await report(village, sent["id"], "done")).status_code == 200
        await wait_until(lambda: is_done(top, sent["id"]), LONG_POLL_S / 2)
        print(f"three levels down in {down_s:.3f} s")
    finally:
        await cluster.close()


async def has_inbox(node: object) -> bool:
    return bool(await inbox(node))  # type: ignore[arg-type]


async def is_done(node: object, directive_id: str) -> bool:
    return bool((await progress(node, directive_id))["done"])  # type: ignore[arg-type]


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s")
        await asyncio.sleep(0.01)
