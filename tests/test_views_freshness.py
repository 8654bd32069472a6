"""Freshness: each child row says when its data last arrived and flags it stale after
settings.stale_after_s without contact, on an injected clock; deeper units' times travel up in
the pushes (docs/protocol.md, Freshness) and the oldest hop on the way counts."""

from typing import Any

from tests.cluster import Cluster
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import person

HOUR_MS = 3_600_000
GRID = VILLAGE + "001"


class FakeClock:
    """Milliseconds that move only when the test says so."""

    def __init__(self, start: int) -> None:
        self.ms = start

    def __call__(self) -> int:
        return self.ms

    def advance(self, hours: float) -> None:
        self.ms += int(hours * HOUR_MS)


def row(view: dict[str, Any], unit: str) -> dict[str, Any]:
    return next(c["freshness"] for c in view["children"] if c["unit"] == unit)


async def freshness_at(cluster: Cluster, node: str, unit: str) -> dict[str, Any]:
    response = await cluster.nodes[node].client.get("/api/v1/views/summary", params={"unit": unit})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def build(cluster: Cluster) -> FakeClock:
    await cluster.add(PREFECTURE, "Huangnan Prefecture", stale_after_s=3600)
    await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE, stale_after_s=3600)
    await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY, stale_after_s=3600)
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP, stale_after_s=3600)
    clock = FakeClock(cluster.nodes[PREFECTURE].ctx.db.clock())
    for node in cluster.nodes.values():
        node.ctx.db.clock = clock
    return clock


async def push(cluster: Cluster, *codes: str) -> None:
    for code in codes:
        await cluster.nodes[code].replicator.run_once()


async def test_stale_flags_follow_the_clock_and_every_hop_up(cluster: Cluster) -> None:
    clock = await build(cluster)
    await cluster.nodes[VILLAGE].write(person(unit=GRID))
    await push(cluster, VILLAGE, TOWNSHIP, COUNTY)
    pushed_at = clock.ms

    top = await freshness_at(cluster, PREFECTURE, TOWNSHIP)
    village = row(top, VILLAGE)
    assert village["source"] == "replica" and village["stale"] is False
    assert village["last_received_at"] is not None and top["stale_children"] == []
    grids = await freshness_at(cluster, PREFECTURE, VILLAGE)
    assert row(grids, GRID)["stale"] is False  # grids are as fresh as their village's data

    clock.advance(hours=2)  # nobody pushes for two hours
    top = await freshness_at(cluster, PREFECTURE, PREFECTURE)
    assert top["stale_children"] == [COUNTY] and row(top, COUNTY)["age_s"] == 7200
    assert (await freshness_at(cluster, PREFECTURE, TOWNSHIP))["stale_children"] == [VILLAGE]

    # The village pushes to its township, but the township's link up is down: the township
    # sees fresh data; the county and prefecture still hold two-hour-old data of the village.
    await cluster.nodes[VILLAGE].write(person(unit=GRID))
    await push(cluster, VILLAGE)
    assert row(await freshness_at(cluster, TOWNSHIP, TOWNSHIP), VILLAGE)["stale"] is False
    assert row(await freshness_at(cluster, COUNTY, TOWNSHIP), VILLAGE)["stale"] is True

    await push(cluster, TOWNSHIP)  # the township's push carries the village's time up
    at_county = row(await freshness_at(cluster, COUNTY, TOWNSHIP), VILLAGE)
    assert at_county["stale"] is False and at_county["age_s"] == 0
    at_top = await freshness_at(cluster, PREFECTURE, TOWNSHIP)
    assert row(at_top, VILLAGE)["stale"] is True  # the county→prefecture hop is still old
    assert row(at_top, VILLAGE)["age_s"] == 7200

    await push(cluster, COUNTY)
    at_top = await freshness_at(cluster, PREFECTURE, TOWNSHIP)
    assert row(at_top, VILLAGE) == row(await freshness_at(cluster, COUNTY, TOWNSHIP), VILLAGE)
    assert at_top["stale_children"] == [] and at_top["freshness"]["stale"] is False
    assert (await freshness_at(cluster, PREFECTURE, PREFECTURE))["stale_children"] == []
    assert clock.ms - pushed_at == 2 * HOUR_MS


async def test_a_child_that_never_pushed_is_stale_and_local_data_never_is(
    cluster: Cluster,
) -> None:
    await build(cluster)
    await cluster.add("632322101202", "Silent Village", parent=TOWNSHIP)
    await cluster.nodes[TOWNSHIP].write(person(unit=TOWNSHIP))
    view = await freshness_at(cluster, TOWNSHIP, TOWNSHIP)
    silent = row(view, "632322101202")
    assert silent == {"source": "replica", "last_received_at": None, "age_s": None, "stale": True}
    assert set(view["stale_children"]) == {"632322101202", VILLAGE}
    assert view["freshness"]["source"] == "local"
    grids = await freshness_at(cluster, VILLAGE, VILLAGE)
    assert grids["freshness"]["source"] == "local" and grids["stale_children"] == []


async def test_freshness_entries_travel_only_when_changed(cluster: Cluster) -> None:
    await build(cluster)
    township = cluster.nodes[TOWNSHIP]
    await cluster.nodes[VILLAGE].write(person(unit=GRID))
    await push(cluster, VILLAGE)
    store = township.replicator.store
    first = store.read_batch(store.acked(), max_records=100, max_bytes=1_000_000)
    assert [e["unit"] for e in first.sections["freshness"]] == [VILLAGE]
    await push(cluster, TOWNSHIP)
    await township.write(person(unit=TOWNSHIP))
    second = store.read_batch(store.acked(), max_records=100, max_bytes=1_000_000)
    assert second.records and "freshness" not in second.sections  # nothing new below: none sent
