"""Replication up a four-level chain, in one process."""

import asyncio
import os
import time
from pathlib import Path

from federation.crypto import suite
from federation.privacy import DEFAULT_POLICY, Projector
from schemas.codes import level_of
from schemas.kinds import validate_data
from schemas.personal import masked
from tests.cluster import Cluster
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import household, person

KEY = bytes.fromhex(os.environ["TIERSYNC_HASH_KEY"])  # tests/conftest.py


async def test_village_records_reach_every_ancestor_with_same_version(chain: Cluster) -> None:
    """Each ancestor holds the version, its data as the privacy policy projects it there."""
    village = chain.nodes[VILLAGE]
    bodies = [person() for _ in range(5)] + [household()]
    written = [await village.write(body) for body in bodies]
    await chain.sync()
    for code in (TOWNSHIP, COUNTY, PREFECTURE):
        node = chain.nodes[code]
        projector = Projector(DEFAULT_POLICY, level_of(code).value, suite("default"), KEY)
        for body, record in zip(bodies, written, strict=True):
            got = await node.client.get(f"/api/v1/records/{record['id']}")
            assert got.status_code == 200, (code, got.text)
            assert got.json()["version"] == record["version"]
            held = projector.project(body["kind"], validate_data(body["kind"], body["data"]))
            assert got.json()["data"] == masked(body["kind"], held)[0]
        summary = await node.summary()
        assert summary["counts"] == {"person": 5, "household": 1}


async def test_registry_travels_up_and_names_children(chain: Cluster) -> None:
    await chain.add("632322101202", "Another Village", parent=TOWNSHIP)
    await chain.sync()
    summary = await chain.nodes[PREFECTURE].summary(TOWNSHIP)
    names = {c["unit"]: c["name"] for c in summary["children"]}
    assert names == {VILLAGE: "Dongmen Village", "632322101202": "Another Village"}


async def test_delete_travels_as_tombstone(chain: Cluster) -> None:
    village = chain.nodes[VILLAGE]
    keep, doomed = await village.write(person()), await village.write(person())
    await chain.sync()
    assert (await village.client.delete(f"/api/v1/records/{doomed['id']}")).status_code == 204
    await chain.sync()
    top = chain.nodes[PREFECTURE]
    assert (await top.client.get(f"/api/v1/records/{doomed['id']}")).status_code == 404
    assert (await top.client.get(f"/api/v1/records/{keep['id']}")).status_code == 200
    assert (await top.summary())["counts"] == {"person": 1}


async def test_live_replicators_push_promptly_and_survive_an_outage(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, live=True)
    try:
        await cluster.add(PREFECTURE, "Huangnan Prefecture")
        await cluster.add(COUNTY, "Jianzha County", parent=PREFECTURE, push_delay_ms=10)
        await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY, push_delay_ms=10)
        await cluster.add(
            VILLAGE, "Dongmen Village", parent=TOWNSHIP, push_delay_ms=10, retry_max_s=0.2
        )
        top = cluster.nodes[PREFECTURE]
        record = await cluster.nodes[VILLAGE].write(person())
        started = time.monotonic()
        while (await top.client.get(f"/api/v1/records/{record['id']}")).status_code != 200:
            assert time.monotonic() - started < 5, "record did not reach the prefecture"
            await asyncio.sleep(0.01)
        # The township's link drops; the village keeps accepting writes, then catches up.
        cluster.router.down.add(TOWNSHIP)
        for _ in range(5):
            await cluster.nodes[VILLAGE].write(person())
        await asyncio.sleep(0.3)
        assert (await top.summary())["counts"] == {"person": 1}
        cluster.router.down.discard(TOWNSHIP)
        deadline = time.monotonic() + 10
        while (await top.summary())["counts"] != {"person": 6}:
            assert time.monotonic() < deadline, "village did not catch up after the outage"
            await asyncio.sleep(0.05)
        status = cluster.nodes[VILLAGE].replicator
        assert status.last_error is None
    finally:
        await cluster.close()
