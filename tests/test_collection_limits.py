"""Tombstone collection where the quarantine and rebuilds meet it (docs/decisions/0702,
Limits): a version held in an ancestor's quarantine is not held there, a retry is not judged
by a horizon raised after the version arrived, and a node rebuilt from its parent gets the
parent's horizons."""

import asyncio
import shutil
import uuid
from pathlib import Path

from sqlalchemy import text

from federation.hlc import wall_ms
from node.app import open_node
from node.ops import actions
from node.records.store import Version, store_versions
from node.sync import quarantine
from node.sync.quarantine import QuarantineRetrier
from node.sync.receive import receiver
from node.sync.runner import build_replicator
from node.tombstones.service import collect, collect_here
from node.units.service import enrol_child
from node.uplink import connect_parent
from schemas.sync import PROTOCOL_VERSION, ChangeRecord, PushBatch
from tests.cli_support import run
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, TOWNSHIP, VILLAGE
from tests.factories import person
from tests.restore_support import backed_up, restored
from tests.test_edge_poisons import push, wire
from tests.test_ops_support import ACTOR, release_files
from tests.test_tombstone_collection import delete, horizon, on_engine, rows

__all__ = ["on_engine"]  # the fixture, shared with the collection tests
DAY_MS = 86_400_000
BEHIND_MS = 20 * 60_000  # beyond TIERSYNC_MAX_CLOCK_SKEW_S (300 s), within the window


async def pair(cluster: Cluster) -> tuple[Node, Node]:
    # Its replay window an hour (TIERSYNC_REPLAY_WINDOW_S): a clock BEHIND_MS off still lets
    # its child's signed requests in, while their versions lie beyond its clock bound.
    township = await cluster.add(
        TOWNSHIP, "Kangyang Town", tombstone_retention_s=0, replay_window_s=3600
    )
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    return township, village


async def status_of(node: Node, rid: str) -> int:
    return (await node.client.get(f"/api/v1/records/{rid}")).status_code


def collect_top(node: Node) -> int:
    """Collect at the top what it has held a moment (its retention shortened for the test)."""
    return collect(node.ctx.db, has_parent=False, retention_s=0.001).tombstones


async def test_a_deletion_held_above_as_clock_ahead_is_neither_collected_below_nor_released(
    on_engine: Cluster,
) -> None:
    cluster = on_engine
    township, village = await pair(cluster)
    rid = (await village.write(person()))["id"]
    await cluster.sync()
    village.ctx.db.clock = lambda: wall_ms() + DAY_MS  # the village's clock runs a day ahead
    await delete(village, rid)
    village.ctx.db.clock = wall_ms  # set right (NTP): its requests pass, the deletion is ahead
    await cluster.sync()
    await village.replicator.run_once(heartbeat=True)  # acked again: durable as far as it goes
    [entry] = quarantine.list_entries(township.ctx.db)
    assert entry["record_id"] == rid and entry["reason"].startswith("clock ahead")
    assert await status_of(township, rid) == 200  # the deletion has not reached the township

    # The township does not hold the deletion: the village keeps its tombstone.
    assert collect_here(village.ctx).tombstones == 0
    assert rows(village, deleted=True) == 1

    # An operator's release keeps a held deletion (dropping it would lose it above for good).
    released = quarantine.release(township.ctx.db, ids=[entry["id"]], actor="ops")
    assert (released.dropped, released.kept) == (0, [entry["id"]])
    assert quarantine.count(township.ctx.db) == 1

    # Once the township's time reaches the version, it applies by itself and the village
    # may forget its tombstone.
    township.ctx.db.clock = village.ctx.db.clock = lambda: wall_ms() + DAY_MS  # a day later
    assert QuarantineRetrier(township.ctx.db, receiver(township.ctx)).run_once() == 1
    assert await status_of(township, rid) == 404
    await village.replicator.run_once(heartbeat=True)
    assert collect_here(village.ctx).tombstones == 1
    assert rows(village, deleted=True) == 0


async def test_release_force_drops_a_held_deletion(cluster: Cluster) -> None:
    township, village = await pair(cluster)
    rid = (await village.write(person()))["id"]
    await cluster.sync()
    village.ctx.db.clock = lambda: wall_ms() + DAY_MS
    await delete(village, rid)
    village.ctx.db.clock = wall_ms
    await cluster.sync()
    [entry] = quarantine.list_entries(township.ctx.db)
    released = quarantine.release(township.ctx.db, ids=[entry["id"]], actor="ops", force=True)
    assert (released.dropped, released.kept) == (1, [])
    await village.replicator.run_once(heartbeat=True)
    assert collect_here(village.ctx).tombstones == 1  # nothing held above any more


async def test_a_quarantined_version_is_applied_although_later_tombstones_were_collected(
    on_engine: Cluster,
) -> None:
    cluster = on_engine
    township, village = await pair(cluster)
    township.ctx.db.clock = lambda: wall_ms() - BEHIND_MS  # the township's clock 20 minutes behind
    held = (await village.write(person()))["id"]
    await cluster.sync()
    assert quarantine.count(township.ctx.db) == 1

    township.ctx.db.clock = wall_ms  # set right; later deletions of the village arrive
    doomed = (await village.write(person()))["id"]
    await delete(village, doomed)
    await cluster.sync()
    await asyncio.sleep(0.01)
    assert collect_top(township) == 1
    assert horizon(township, VILLAGE) > 0

    # Retried (the clock now accepts it): its id was never collected here, it is applied.
    assert QuarantineRetrier(township.ctx.db, receiver(township.ctx)).run_once() == 1
    assert await status_of(township, held) == 200
    assert await status_of(township, doomed) == 404


async def test_a_quarantined_version_older_than_its_own_collected_tombstone_stays_gone(
    cluster: Cluster,
) -> None:
    township, village = await pair(cluster)
    township.ctx.db.clock = lambda: wall_ms() - BEHIND_MS
    rid = (await village.write(person()))["id"]
    await cluster.sync()
    township.ctx.db.clock = wall_ms
    await delete(village, rid)  # its tombstone is stored (its live version is still held)
    await cluster.sync()
    await asyncio.sleep(0.01)
    assert collect_top(township) == 1
    assert quarantine.count(township.ctx.db) == 0  # settled by the tombstone it lost to
    QuarantineRetrier(township.ctx.db, receiver(township.ctx)).run_once()
    assert await status_of(township, rid) == 404


async def test_a_version_at_or_below_the_horizon_is_stale_even_when_it_cannot_be_applied(
    cluster: Cluster,
) -> None:
    township, village = await pair(cluster)
    rid = (await village.write(person()))["id"]
    await cluster.sync()
    with township.ctx.db.read() as conn:
        old = conn.execute(
            text("SELECT * FROM records WHERE id = :i"), {"i": uuid.UUID(rid).hex}
        ).one()
    await delete(village, rid)
    await cluster.sync()
    await asyncio.sleep(0.01)
    assert collect_top(township) == 1
    # The old version comes again (a village restored from before the deletion) while the
    # township's clock runs behind it: stale now, not held for a retry that would revive it.
    township.ctx.db.clock = lambda: wall_ms() - BEHIND_MS
    record = ChangeRecord(
        id=uuid.UUID(rid),
        kind=old.kind,
        unit=old.unit,
        data={},
        version=f"{int(old.hlc):016x}.{old.origin}",
        schema_version=1,
    )
    cursor = receiver(township.ctx).cursor_of(VILLAGE)
    batch = PushBatch(
        protocol=PROTOCOL_VERSION,
        source=VILLAGE,
        since=cursor,
        until=cursor + 1,
        head=cursor + 1,
        records=[record],
    )
    ack = receiver(township.ctx).apply_push(child=VILLAGE, batch=batch)
    assert (ack.stale, ack.quarantined) == (1, 0)
    assert quarantine.count(township.ctx.db) == 0


async def test_a_township_rebuilt_from_its_county_gets_the_countys_horizons(
    cluster: Cluster, tmp_path: Path
) -> None:
    await cluster.add(COUNTY, "Jianzha County", tombstone_retention_s=0)
    township = await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    doomed = (await village.write(person()))["id"]
    await cluster.sync()
    backup = tmp_path / "village-before-the-deletion.db"
    await backed_up(cluster, VILLAGE, backup)
    await delete(cluster.nodes[VILLAGE], doomed)
    await cluster.sync(rounds=2)
    await asyncio.sleep(0.01)
    assert collect_top(cluster.nodes[COUNTY]) == 1
    county_horizon = horizon(cluster.nodes[COUNTY], VILLAGE)
    assert county_horizon > 0

    # The township's disk dies; it is enrolled again and rebuilt from the county.
    release_files(township)
    shutil.rmtree(township.settings.data_dir)
    token = enrol_child(cluster.nodes[COUNTY].ctx.db, node_code=COUNTY, code=TOWNSHIP, name="")
    township.settings = township.settings.model_copy(update={"parent_token": token.token})
    township.app.state.ctx = open_node(township.settings)
    township.ctx.replicator = build_replicator(
        township.ctx, connect_parent(township.settings, transport=cluster.router)
    )
    await actions.run_rebuild(township.ctx, actor=ACTOR, transport=cluster.router)
    assert horizon(township, VILLAGE) == county_horizon

    # The village comes back from its backup, which still holds the record alive: the
    # rebuilt township does not take the old version back.
    await restored(cluster, VILLAGE, backup)
    with cluster.nodes[VILLAGE].ctx.db.read() as conn:
        old = conn.execute(
            text("SELECT * FROM records WHERE id = :i"), {"i": uuid.UUID(doomed).hex}
        ).one()
    version = Version(uuid.UUID(doomed), old.kind, old.unit, {}, int(old.hlc), old.origin, False, 1)
    with township.ctx.db.write() as txn:
        assert store_versions(txn, [version]).stale == [version.id]


async def test_quarantine_release_on_the_command_line_keeps_a_held_deletion(
    cluster: Cluster, tmp_path: Path
) -> None:
    township, village = await pair(cluster)
    ahead = (wall_ms() + DAY_MS) << 16
    tombstone = wire({}, deleted=True, version=f"{ahead:016x}.{VILLAGE}")
    assert (await push(township, village, records=[tombstone])).json()["quarantined"] == 1
    [entry] = quarantine.list_entries(township.ctx.db)
    config = tmp_path / "township.toml"
    config.write_text(f'code = "{TOWNSHIP}"\ndata_dir = "{township.settings.data_dir}"\n')
    kept = run("--config", config, "quarantine", "release", str(entry["id"]), "--actor", "ops")
    assert kept.exit_code == 1, kept.output
    assert "保留 1 条因时钟超前而隔离的删除" in kept.output and "--force" in kept.output
    assert quarantine.count(township.ctx.db) == 1
    forced = run(
        "--config", config, "quarantine", "release", str(entry["id"]), "--force", "--actor", "ops"
    )
    assert forced.exit_code == 0, forced.output
    assert "已从隔离区移除 1 条记录" in forced.output
    assert quarantine.count(township.ctx.db) == 0
