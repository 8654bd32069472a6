"""After a restore, a node never issues a version at or below one it issued before (its clock
had run ahead before the loss): it observes what its parent holds of it."""

import uuid
from pathlib import Path
from typing import Any

from federation.hlc import wall_ms
from node.records import repository as records_repo
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, TOWNSHIP, VILLAGE
from tests.directives_support import puller
from tests.factories import person
from tests.restore_support import backed_up, restored
from tests.test_ops_support import live_ids, verify

AHEAD_MS = 40 * 60 * 1000  # the village PC's clock ran 40 minutes fast for a while


async def put(node: Node, record: dict[str, Any], name: str) -> dict[str, Any]:
    body = {"kind": "person", "unit": record["unit"], "data": dict(record["data"], name=name)}
    response = await node.client.put(f"/api/v1/records/{record['id']}", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def get(node: Node, record_id: str) -> dict[str, Any]:
    response = await node.client.get(f"/api/v1/records/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def fast_then_restored(
    cluster: Cluster, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A village backed up, then its clock runs fast for a write that reaches the township; the
    disk is lost and the backup comes back on a PC whose clock is right again. Returns the
    record as first written and as written fast."""
    # 40 minutes fast is within what these nodes accept (TIERSYNC_MAX_CLOCK_SKEW_S, and the
    # replay window of the signed requests, TIERSYNC_REPLAY_WINDOW_S, an hour here): beyond it
    # the township would quarantine the fast write (tests/test_clock_skew.py), or refuse its
    # requests.
    skew = {"max_clock_skew_s": 4 * 3600, "replay_window_s": 3600}
    await cluster.add(TOWNSHIP, "Kangyang Town", **skew)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP, **skew)
    resident = await cluster.nodes[VILLAGE].write(person())
    await cluster.sync()
    backup = tmp_path / "village.db"
    await backed_up(cluster, VILLAGE, backup)
    cluster.nodes[VILLAGE].ctx.db.clock = lambda: wall_ms() + AHEAD_MS
    fast = await put(cluster.nodes[VILLAGE], resident, "Written while the clock ran fast")
    await cluster.sync()
    assert (await get(cluster.nodes[TOWNSHIP], resident["id"]))["version"] == fast["version"]
    await restored(cluster, VILLAGE, backup)
    return resident, fast


async def test_restored_village_with_a_fixed_clock_writes_above_its_fast_past(
    cluster: Cluster, tmp_path: Path
) -> None:
    resident, fast = await fast_then_restored(cluster, tmp_path)
    await cluster.sync()  # the village reconnects to its parent
    village = cluster.nodes[VILLAGE]
    fixed = await put(village, resident, "Corrected after the restore")
    assert fixed["version"] > fast["version"]
    ack_stale = await village.replicator.run_once()
    assert ack_stale == 1
    township = cluster.nodes[TOWNSHIP]
    assert (await get(township, resident["id"]))["data"]["name"] == "Corrected after the restore"
    repaired = await verify(cluster, village, repair=True)
    assert repaired.ok
    assert (await get(village, resident["id"]))["data"]["name"] == "Corrected after the restore"


async def test_writes_made_before_the_first_contact_are_issued_again_above(
    cluster: Cluster, tmp_path: Path
) -> None:
    resident, fast = await fast_then_restored(cluster, tmp_path)
    village = cluster.nodes[VILLAGE]
    # Written at once after the restore, before the village reached its parent.
    early = await put(village, resident, "Written before reconnecting")
    assert early["version"] < fast["version"]
    await cluster.sync()
    now = await get(village, resident["id"])
    assert now["version"] > fast["version"] and now["data"]["name"] == early["data"]["name"]
    assert (await get(cluster.nodes[TOWNSHIP], resident["id"]))["version"] == now["version"]
    # Issued again, the record is still found by its ID number (its keyed hash kept).
    with village.ctx.db.read() as conn:
        number = records_repo.get_row(conn, uuid.UUID(resident["id"])).data["id_number"]
    found = await village.client.get("/api/v1/records", params={"id_number": number})
    assert [r["id"] for r in found.json()["items"]] == [resident["id"]], found.text
    assert (await verify(cluster, village, repair=True)).ok


async def test_verify_repair_at_a_township_restored_from_an_old_backup_exits_ok(
    cluster: Cluster, tmp_path: Path
) -> None:
    await cluster.add(COUNTY, "Jianzha County")
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    for _ in range(3):
        await cluster.nodes[VILLAGE].write(person())
    await cluster.sync()
    backup = tmp_path / "township.db"
    await backed_up(cluster, TOWNSHIP, backup)
    for _ in range(3):
        await cluster.nodes[VILLAGE].write(person())
    await cluster.sync()
    await restored(cluster, TOWNSHIP, backup)
    township = cluster.nodes[TOWNSHIP]
    assert len(live_ids(township)) == 3

    repaired = await verify(cluster, township, repair=True)
    assert repaired.parent is not None and repaired.parent.fetched == 3
    assert repaired.ok, [c.model_dump() for c in repaired.children]
    assert len(live_ids(township)) == 6
    # The village notices its parent went back (the directive poll) and resends, with a fresh
    # report, which matches.
    await puller(cluster.nodes[VILLAGE]).run_once()
    await cluster.sync()
    again = await verify(cluster, township)
    assert again.ok and [c.state for c in again.children] == ["match"]


async def test_a_restores_own_unpushed_writes_keep_their_versions(
    cluster: Cluster, tmp_path: Path
) -> None:
    """Two writes were not pushed yet when the backup was taken; the lost copy pushed them,
    and, while its clock ran fast, deleted one and renamed the other. Restored, the village
    re-issues only what it wrote after the restore: the deletion and the rename stand above
    (decision 0702), and its own verify brings them down."""
    skew = {"max_clock_skew_s": 4 * 3600, "replay_window_s": 3600}
    await cluster.add(TOWNSHIP, "Kangyang Town", **skew)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP, **skew)
    await cluster.nodes[VILLAGE].write(person())
    await cluster.sync()
    doomed = await cluster.nodes[VILLAGE].write(person())
    renamed = await cluster.nodes[VILLAGE].write(person())
    backup = tmp_path / "village.db"
    await backed_up(cluster, VILLAGE, backup)
    await cluster.sync()
    cluster.nodes[VILLAGE].ctx.db.clock = lambda: wall_ms() + AHEAD_MS
    deleted = await cluster.nodes[VILLAGE].client.delete(f"/api/v1/records/{doomed['id']}")
    assert deleted.status_code == 204, deleted.text
    fast = await put(cluster.nodes[VILLAGE], renamed, "Renamed while the clock ran fast")
    await cluster.sync()

    await restored(cluster, VILLAGE, backup)
    village = cluster.nodes[VILLAGE]
    early = await village.write(person())  # after the restore, before the first contact
    await cluster.sync()
    township = cluster.nodes[TOWNSHIP]
    gone = await township.client.get(f"/api/v1/records/{doomed['id']}")
    assert gone.status_code == 404, gone.text
    assert (await get(township, renamed["id"]))["data"]["name"] == fast["data"]["name"]
    assert (await get(township, early["id"]))["version"] > fast["version"]

    found = await verify(cluster, village)
    assert sorted((d.id, d.action) for d in found.parent.differences) == sorted(
        [(doomed["id"], "fetch"), (renamed["id"], "fetch")]
    )
    repaired = await verify(cluster, village, repair=True)
    assert repaired.ok, repaired.model_dump_json(indent=1)
    assert (await village.client.get(f"/api/v1/records/{doomed['id']}")).status_code == 404
    assert (await get(village, renamed["id"]))["data"]["name"] == fast["data"]["name"]
