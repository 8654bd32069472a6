"""The issuer's side of directives on SQLite and PostgreSQL: target fixing, progress, cancel."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.cluster import Cluster
from tests.directives_support import (
    DONGMEN,
    JIANZHA,
    KANGYANG,
    OTHER_TOWN,
    PREFECTURE,
    ZEKU,
    counts,
    deliver,
    inbox,
    issue,
    migrated_sqlite,
    progress,
    report,
)

__all__ = ["migrated_sqlite"]


@pytest.fixture
async def net(tmp_path: Path, database_url_factory: Callable[[str], str]) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path, database_url_factory)
    try:
        await cluster.add(PREFECTURE, "Huangnan Prefecture")
        await cluster.add(JIANZHA, "Jianzha County", parent=PREFECTURE)
        await cluster.add(KANGYANG, "Kangyang Town", parent=JIANZHA)
        await cluster.add(OTHER_TOWN, "Second Town", parent=JIANZHA)
        await cluster.sync()
        yield cluster
    finally:
        await cluster.close()


async def test_issuer_side(net: Cluster) -> None:
    await issue_deliver_receipt_and_cancel(net)
    await targets_are_fixed_from_the_registry_and_checked(net)


async def issue_deliver_receipt_and_cancel(net: Cluster) -> None:
    top = net.nodes[PREFECTURE]
    sent = await issue(
        top, target={"level": "township"}, kind="task", deadline="2030-01-01T00:00:00+08:00"
    )
    assert sent["requested"] == {"level": "township"}
    assert sent["target_units"] == [KANGYANG, OTHER_TOWN]
    assert sent["deadline"] == "2030-01-01T00:00:00+08:00"
    await deliver(net)
    kangyang = net.nodes[KANGYANG]
    [item] = await inbox(kangyang)
    assert (item["id"], item["state"]) == (sent["id"], "delivered")
    assert (await report(kangyang, sent["id"], "done", "all grids visited")).status_code == 200
    await net.sync()
    view = await progress(top, sent["id"])
    assert counts(view) == (2, 2, 1, 1, 0)
    assert [(c["unit"], c["done"]) for c in view["by_child"]] == [(JIANZHA, 1)]
    assert [lag["unit"] for lag in view["laggards"]] == [OTHER_TOWN]
    assert (await top.client.post(f"/api/v1/directives/{sent['id']}/cancel")).status_code == 200
    await deliver(net)
    [item] = await inbox(net.nodes[OTHER_TOWN])
    assert item["status"] == "cancelled"
    listed = (await top.client.get("/api/v1/directives")).json()["items"]
    assert [(d["status"], d["done"]) for d in listed] == [("cancelled", 1)]


async def targets_are_fixed_from_the_registry_and_checked(net: Cluster) -> None:
    county = net.nodes[JIANZHA]
    refused = await issue(county, 403, target={"units": [KANGYANG, f"{ZEKU}101"]})
    assert refused["error"]["details"][0]["field"] == "target.units.1"
    await issue(county, 422, target={"units": [DONGMEN]})  # below, but not registered
    await issue(county, 422, target={"level": "village"})  # no village registered yet
    sent = await issue(county, target={"subtree": True})
    assert sent["target_units"] == [KANGYANG, OTHER_TOWN]
    await net.add(DONGMEN, "Dongmen Village", parent=KANGYANG)  # enrolled after issuing
    await deliver(net)
    assert await inbox(net.nodes[DONGMEN]) == []
    assert counts(await progress(county, sent["id"])) == (2, 2, 0, 0, 0)
    inboxes = [await inbox(net.nodes[code]) for code in (KANGYANG, OTHER_TOWN)]
    assert [[i["id"] for i in items if i["issuer"] == JIANZHA] for items in inboxes] == [
        [sent["id"]],
        [sent["id"]],
    ]
