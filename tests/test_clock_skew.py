"""Issue 10, rule: bounded clock skew (TIERSYNC_MAX_CLOCK_SKEW_S, default 300 s). A version
further ahead of a parent's clock is quarantined with a clear reason and its child flagged in
`status`; it never moves the parent's clock, so a 0x7fff… version cannot break the writes
above; and a child learns from its parent's acks that its own clock is off, and says so."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from federation.errors import PeerRejected
from federation.hlc import LOGICAL_BITS, MAX_HLC, wall_ms
from node.models import NodeState, table
from node.ops.status import node_status
from node.sync.quarantine import QuarantineRetrier
from node.sync.receive import receiver
from tests.cluster import Cluster, Node
from tests.factories import household as household_body
from tests.test_edge_poisons import TOWNSHIP, VILLAGE, push, wire

DAY_MS = 86_400_000


def household(hlc: int) -> dict[str, Any]:
    data = {"address": "1 Main Street", "head_name": "Tashi"}
    return wire(data, version=f"{hlc:016x}.{VILLAGE}")


def clock_of(node: Node) -> int:
    with node.ctx.db.read() as conn:
        return int(conn.execute(select(table(NodeState).c.last_hlc)).scalar_one())


async def test_a_version_a_day_ahead_is_quarantined_and_does_not_drag_the_clock(
    cluster: Cluster,
) -> None:
    parent = await cluster.add(TOWNSHIP, "Kangyang Town")
    child = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    ahead = household((wall_ms() + DAY_MS) << LOGICAL_BITS)
    ok = household(wall_ms() << LOGICAL_BITS)
    answer = await push(parent, child, records=[ahead, ok])
    assert answer.status_code == 200, answer.text
    assert (answer.json()["applied"], answer.json()["quarantined"]) == (1, 1)
    assert clock_of(parent) >> LOGICAL_BITS < wall_ms() + 300_000  # not dragged a day ahead
    [item] = (await parent.client.get("/api/v1/sync/quarantine")).json()["items"]
    assert (
        item["reason"].startswith("clock ahead") and "TIERSYNC_MAX_CLOCK_SKEW_S" in item["reason"]
    )
    report = node_status(parent.ctx)
    assert [c.clock_ahead for c in report.children if c.code == VILLAGE] == [True]
    assert any("超前于本节点时钟" in p for p in report.problems)


async def test_a_maximal_version_from_a_child_does_not_break_later_writes(
    cluster: Cluster,
) -> None:
    parent = await cluster.add(TOWNSHIP, "Kangyang Town")
    child = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    answer = await push(parent, child, records=[household(MAX_HLC)])
    assert answer.status_code == 200 and answer.json()["quarantined"] == 1
    assert clock_of(parent) < MAX_HLC // 2  # the parent's clock did not jump to the end
    with parent.ctx.db.write() as txn:  # so its later writes still get versions
        assert txn.tick() < MAX_HLC


async def test_a_child_learns_from_the_acks_that_its_clock_is_off(cluster: Cluster) -> None:
    await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    await village.write(household_body(unit=VILLAGE))
    village.replicator.wall = lambda: wall_ms() - 3_600_000  # an hour behind the parent
    await cluster.sync()
    [note] = village.ctx.supervisor.notes()
    assert "3,600 s behind its parent's" in note and "NTP" in note
    ready = (await village.client.get("/readyz")).json()
    assert ready["notes"] == [note]
    village.replicator.wall = wall_ms
    await village.replicator.run_once(heartbeat=True)
    assert village.ctx.supervisor.notes() == []


async def test_the_clock_check_compares_the_parents_clock_with_the_nodes_own(
    cluster: Cluster,
) -> None:
    """Nodes whose (injected) clocks agree are not told they are off, whatever the system
    clock says: the check and the supervisor's times read the node's clock, as its HLC does."""
    behind = lambda: wall_ms() - 3_600_000  # noqa: E731 - both clocks an hour behind
    cluster.clocks.update({TOWNSHIP: behind, VILLAGE: behind})
    await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    await village.write(household_body(unit=VILLAGE))
    await cluster.sync()
    assert village.ctx.supervisor.notes() == []
    offset = village.replicator.clock_offset_ms
    assert offset is not None and abs(offset) < 60_000
    assert abs(village.ctx.supervisor.now().timestamp() * 1000 - behind()) < 60_000


def test_the_default_bound_is_five_minutes(tmp_path: Path) -> None:
    from node.settings import Settings

    assert Settings(code=VILLAGE, data_dir=tmp_path).max_clock_skew_s == 300.0


async def test_a_node_whose_clock_was_set_back_refuses_to_issue_until_time_catches_up(
    cluster: Cluster,
) -> None:
    township = await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    village.ctx.db.clock = lambda: wall_ms() + DAY_MS  # a day ahead, then set right (NTP)
    early = await village.write(household_body(unit=VILLAGE))
    # Its requests are dated by the same clock: the township refuses them, saying why, and
    # the early write waits in the village's log.
    with pytest.raises(
        PeerRejected, match=r"dated 86,\d{3} s ahead of this node's clock.*check both clocks"
    ):
        await village.replicator.run_once()
    village.ctx.db.clock = wall_ms
    held = await village.client.get("/api/v1/records", params={"limit": 100})
    before = len(held.json()["items"])

    # What it would issue now lies a day ahead of its clock: its parent would hold it for a
    # day while the village answered 201. It refuses, says why, and stores nothing.
    refused = await village.client.post("/api/v1/records", json=household_body(unit=VILLAGE))
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["code"] == "clock_behind"
    assert "TIERSYNC_MAX_CLOCK_SKEW_S" in error["message"] and "暂停写入" in error["message"]
    assert 86_000 < error["retry_after_s"] <= 86_400
    held = await village.client.get("/api/v1/records", params={"limit": 100})
    assert len(held.json()["items"]) == before
    ready = await village.client.get("/readyz")
    assert ready.status_code == 503 and "clock_behind" not in ready.text
    assert "behind the versions it has issued" in ready.text
    report = node_status(village.ctx)
    assert 86_000 < report.writes_refused_s <= 86_400 and not report.ok
    assert any("TIERSYNC_MAX_CLOCK_SKEW_S" in p for p in report.problems)
    # Relaying goes on: its parent link still pushes (a heartbeat is answered).
    await village.replicator.run_once(heartbeat=True)

    # Real time reaches what it issued: it writes again, and nothing was lost or doubled
    # once the township's time reaches the early write too.
    village.ctx.db.clock = lambda: wall_ms() + DAY_MS
    later = await village.write(household_body(unit=VILLAGE))
    assert (await village.client.get("/readyz")).status_code == 200
    assert node_status(village.ctx).writes_refused_s == 0
    township.ctx.db.clock = lambda: wall_ms() + DAY_MS
    await cluster.sync()
    QuarantineRetrier(township.ctx.db, receiver(township.ctx)).run_once()
    for record in (early, later):
        found = await township.client.get(f"/api/v1/records/{record['id']}")
        assert found.status_code == 200 and found.json()["version"] == record["version"]
    assert (await township.summary(VILLAGE))["counts"]["household"] == before + 1
