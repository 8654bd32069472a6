"""Tombstones are collected once every ancestor holds them, and a child restored from before
the deletion cannot bring the record back (issue 10, rule "Tombstone collection";
docs/decisions/0702)."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from federation.hlc import parse_version
from node.ops.status import node_status
from node.records.store import Version, store_versions
from node.sync.receive import receiver
from node.tombstones import runner
from node.tombstones.service import collect, collect_here
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import person
from tests.restore_support import backed_up, restored
from tests.test_ops_support import sql, verify

LEVELS = (VILLAGE, TOWNSHIP, COUNTY, PREFECTURE)


def rows(node: Node, *, deleted: bool | None = None) -> int:
    """Rows of the records table (the change log), or only tombstones / only live ones."""
    where = "" if deleted is None else " WHERE deleted = :d"
    with node.ctx.db.read() as conn:
        found = conn.execute(text(f"SELECT count(*) FROM records{where}"), {"d": deleted})
        return int(found.scalar_one())


def horizon(node: Node, origin: str) -> int:
    with node.ctx.db.read() as conn:
        found = conn.execute(
            text("SELECT hlc FROM tombstone_horizons WHERE origin = :o"), {"o": origin}
        ).scalar()
    return int(found or 0)


async def persons(node: Node) -> int:
    return int((await node.summary(VILLAGE))["counts"].get("person", 0))


async def chain(cluster: Cluster) -> dict[str, Node]:
    # The top keeps its tombstones for ever unless a test collects them itself.
    await cluster.add(PREFECTURE, "Huangnan Prefecture", tombstone_retention_s=0)
    await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE)
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    return cluster.nodes


async def settle(cluster: Cluster) -> None:
    """Sync until every durable mark has caught up: durable trails by a batch per level, so a
    few rounds with a small write each carry it to the village."""
    village = cluster.nodes[VILLAGE]
    for _ in range(4):
        await village.write(person())
        for code in sorted(cluster.nodes, key=len, reverse=True):
            node = cluster.nodes[code]
            parent = node.settings.parent_url
            if parent and parent.removeprefix("http://") not in cluster.router.down:
                await node.replicator.run_once()


async def delete(node: Node, rid: str) -> None:
    response = await node.client.delete(f"/api/v1/records/{rid}")
    assert response.status_code == 204, response.text


def collect_at_every_level(nodes: dict[str, Node], *, tombstones: int) -> None:
    """Run each level's collector (the top's with a retention just passed) and check how many
    tombstones each collected."""
    for code in LEVELS:
        result = (
            collect(nodes[code].ctx.db, has_parent=False, retention_s=0.001)
            if code == PREFECTURE
            else collect_here(nodes[code].ctx)
        )
        assert result.tombstones == tombstones, code


@pytest.fixture
async def on_engine(
    tmp_path: Path, database_url_factory: Callable[[str], str]
) -> AsyncIterator[Cluster]:
    """A cluster whose nodes run on the engine the test is parametrised with."""
    cluster = Cluster(tmp_path, database_url=database_url_factory)
    try:
        yield cluster
    finally:
        await cluster.close()


async def test_tombstones_go_at_every_level_once_every_ancestor_holds_them(
    on_engine: Cluster,
) -> None:
    cluster = on_engine
    nodes = await chain(cluster)
    village = nodes[VILLAGE]
    doomed = [(await village.write(person()))["id"] for _ in range(3)]
    await cluster.sync()
    for rid in doomed:
        await delete(village, rid)
    # The county cannot reach the prefecture: the county and everything below it hold the
    # deletions, but not every ancestor does, so nobody may forget them.
    cluster.router.down.add(PREFECTURE)
    await settle(cluster)
    for code in (VILLAGE, TOWNSHIP, COUNTY):
        assert collect_here(nodes[code].ctx).tombstones == 0, code
        assert rows(nodes[code], deleted=True) == 3, code
    logged = {code: rows(nodes[code]) for code in LEVELS}

    cluster.router.down.discard(PREFECTURE)
    await settle(cluster)
    for code in (VILLAGE, TOWNSHIP, COUNTY):
        collected = collect_here(nodes[code].ctx)
        assert collected.tombstones == 3, code
        assert rows(nodes[code], deleted=True) == 0, code
        # The change log shrinks by the tombstones (the settling writes added 4 live rows).
        assert rows(nodes[code]) == logged[code] + 4 - 3, code
        assert horizon(nodes[code], VILLAGE) > 0, code
        status = node_status(nodes[code].ctx)  # what `tiersync status` shows
        assert (status.tombstones, status.tombstones_collected) == (0, 3), code
    # The prefecture keeps them (retention 0: for ever); the figures never counted them.
    assert collect_here(nodes[PREFECTURE].ctx).tombstones == 0
    assert rows(nodes[PREFECTURE], deleted=True) == 3
    alive = rows(village, deleted=False)  # 8 settling writes: a tombstone counts nothing
    assert alive == 8
    for code in LEVELS:
        assert await persons(nodes[code]) == alive, code
        for rid in doomed:
            assert (await nodes[code].client.get(f"/api/v1/records/{rid}")).status_code == 404
    # Nothing differs anywhere: tombstones held on one side and collected on the other are
    # no difference, and the figures equal a recount.
    for code in (VILLAGE, TOWNSHIP, COUNTY):
        report = await verify(cluster, nodes[code])
        assert report.ok, report.model_dump_json(indent=1)
        assert report.parent is not None and report.parent.differences == []


async def test_the_top_collects_after_its_retention(cluster: Cluster) -> None:
    top = await cluster.add(PREFECTURE, "Huangnan Prefecture", tombstone_retention_s=3600)
    rid = (await top.write(person(unit=PREFECTURE)))["id"]
    await delete(top, rid)
    assert collect_here(top.ctx).tombstones == 0  # held for less than an hour
    await asyncio.sleep(0.05)
    assert collect(top.ctx.db, has_parent=False, retention_s=0.01).tombstones == 1
    assert rows(top) == 0
    assert horizon(top, PREFECTURE) > 0


async def test_a_village_restored_from_before_the_deletion_resurrects_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    nodes = await chain(cluster)
    village = nodes[VILLAGE]
    kept = (await village.write(person()))["id"]
    doomed = (await village.write(person()))["id"]
    await cluster.sync()
    backup = tmp_path / "village-before-the-deletion.db"
    await backed_up(cluster, VILLAGE, backup)
    await delete(cluster.nodes[VILLAGE], doomed)
    await settle(cluster)
    collect_at_every_level(nodes, tombstones=1)
    assert all(rows(nodes[code], deleted=True) == 0 for code in LEVELS)
    counted = {code: await persons(nodes[code]) for code in LEVELS}

    # The village's disk is lost and its backup, which still holds the record alive, put back.
    await restored(cluster, VILLAGE, backup)
    village = cluster.nodes[VILLAGE]
    assert (await village.client.get(f"/api/v1/records/{doomed}")).status_code == 200
    await village.write(person())  # a new write after the restore goes up as usual
    await cluster.sync(rounds=2)
    township = cluster.nodes[TOWNSHIP]

    # Its standing at the township is at least the horizon: new versions sort above it.
    assert receiver(township.ctx).standing_of(VILLAGE).issued >= horizon(township, VILLAGE)

    # The old version itself, pushed up (as a repair would have), is stale at every level.
    with village.ctx.db.read() as conn:
        old = conn.execute(
            text("SELECT * FROM records WHERE id = :i"), {"i": uuid.UUID(doomed).hex}
        ).one()
    version = Version(uuid.UUID(doomed), old.kind, old.unit, {}, int(old.hlc), old.origin, False, 1)
    for code in (TOWNSHIP, COUNTY, PREFECTURE):
        with cluster.nodes[code].ctx.db.write() as txn:
            result = store_versions(txn, [version])
        assert result.stale == [version.id], code

    # verify at the village names it (alive here, collected above) and --repair deletes it.
    report = await verify(cluster, village)
    assert not report.ok
    assert report.parent is not None
    actions = {d.id: d.action for d in report.parent.differences}
    assert actions.pop(doomed) == "collected"
    assert set(actions.values()) == {"fetch"}  # the writes the village lost with its disk
    report = await verify(cluster, village, repair=True)
    assert report.ok, report.model_dump_json(indent=1)
    await settle(cluster)
    for code in LEVELS:
        node = cluster.nodes[code]
        assert (await node.client.get(f"/api/v1/records/{doomed}")).status_code == 404, code
        assert (await node.client.get(f"/api/v1/records/{kept}")).status_code == 200, code
        assert await persons(node) == counted[code] + 5, code  # 1 after the restore + 4 settling
        assert (await verify(cluster, node)).ok, code


async def test_a_village_restored_with_writes_its_lost_copy_pushed_keeps_what_came_after(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The backup holds two writes not yet pushed when it was taken; the lost copy pushed
    them, then deleted one (collected at every level since) and renamed the other. Restored,
    the village sends those two with their own versions: neither the deletion nor the rename
    is undone above (decision 0702)."""
    nodes = await chain(cluster)
    village = nodes[VILLAGE]
    await village.write(person())
    await cluster.sync()
    doomed = (await village.write(person()))["id"]
    renamed = await village.write(person())
    backup = tmp_path / "village-with-unpushed-writes.db"
    await backed_up(cluster, VILLAGE, backup)
    await cluster.sync()
    await delete(cluster.nodes[VILLAGE], doomed)
    fixed = {"kind": "person", "unit": VILLAGE, "data": renamed["data"] | {"name": "Tashi"}}
    put = await cluster.nodes[VILLAGE].client.put(f"/api/v1/records/{renamed['id']}", json=fixed)
    assert put.is_success, put.text
    await settle(cluster)
    collect_at_every_level(nodes, tombstones=1)

    await restored(cluster, VILLAGE, backup)
    village = cluster.nodes[VILLAGE]
    after = (await village.write(person()))["id"]  # made after the restore: it goes up
    await cluster.sync(rounds=2)
    township = cluster.nodes[TOWNSHIP]
    for code in (TOWNSHIP, COUNTY, PREFECTURE):
        node = cluster.nodes[code]
        assert (await node.client.get(f"/api/v1/records/{doomed}")).status_code == 404, code
        assert (await node.client.get(f"/api/v1/records/{after}")).status_code == 200, code
    held = (await township.client.get(f"/api/v1/records/{renamed['id']}")).json()
    assert held["data"]["name"] == "Tashi"

    # The village itself learns both from its verify: one collected above, one to fetch.
    report = await verify(cluster, village, repair=True)
    assert report.ok, report.model_dump_json(indent=1)
    assert (await village.client.get(f"/api/v1/records/{doomed}")).status_code == 404
    mine = (await village.client.get(f"/api/v1/records/{renamed['id']}")).json()
    assert mine["data"]["name"] == "Tashi"


async def test_the_collector_survives_a_failing_run_and_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = Cluster(tmp_path / "live", live=True)
    try:
        top = await live.add(
            PREFECTURE,
            "Huangnan Prefecture",
            tombstone_retention_s=0.001,
            tombstone_collect_s=0.05,
            retry_max_s=0.2,
        )
        failing = {"on": True}
        real = runner.collect_here

        def broken(ctx: Any) -> Any:
            if failing["on"]:
                raise OperationalError("DELETE …", {}, Exception("database is locked"))
            return real(ctx)

        monkeypatch.setattr(runner, "collect_here", broken)
        rid = (await top.write(person(unit=PREFECTURE)))["id"]
        await delete(top, rid)
        await until(lambda: task(top).state == "failing", "the collector failing")
        top.ctx.supervisor.unready_after_s = 0.0
        ready = await top.client.get("/readyz")
        assert ready.status_code == 503 and runner.TASK in ready.text
        assert rows(top) == 1

        failing["on"] = False  # restarted after its backoff: it collects and runs again
        await until(lambda: rows(top) == 0, "the tombstone collected")
        await until(lambda: task(top).state == "running", "the collector running")
        assert task(top).restarts >= 1
        assert (await top.client.get("/readyz")).status_code == 200
    finally:
        await live.close()


def task(node: Node) -> Any:
    return next(s for s in node.ctx.supervisor.states() if s.name == runner.TASK)


async def until(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_rows_lost_by_hand_come_back_from_above_past_the_horizon(cluster: Cluster) -> None:
    """The horizon guards against copies from below; the parent's copy (a repair fetch, a
    rebuild) holds nothing deleted below, so a node gets back what it lost."""
    nodes = await chain(cluster)
    village, township = nodes[VILLAGE], nodes[TOWNSHIP]
    lost = (await village.write(person()))["id"]
    doomed = (await village.write(person()))["id"]
    await cluster.sync()
    await delete(village, doomed)
    await settle(cluster)
    assert collect_here(township.ctx).tombstones == 1
    assert horizon(township, VILLAGE) > int(parse_version(await version_at(township, lost))[0])
    sql(township, "DELETE FROM records WHERE id = :i", i=uuid.UUID(lost).hex)

    report = await verify(cluster, township, repair=True, deep=True)
    assert report.ok, report.model_dump_json(indent=1)
    assert (await township.client.get(f"/api/v1/records/{lost}")).status_code == 200
    assert await persons(township) == await persons(village) == rows(village, deleted=False)


async def version_at(node: Node, rid: str) -> str:
    response = await node.client.get(f"/api/v1/records/{rid}")
    assert response.status_code == 200, response.text
    return str(response.json()["version"])
