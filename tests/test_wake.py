"""Another process's commits wake the serving node (node/wake.py): an idle replicator waits
for a commit or its heartbeat, and reads nothing on a timer, so a command run beside `serve`
pokes it."""

import asyncio
import time
import uuid
from pathlib import Path

from node.app import open_node
from node.records import service as records
from node.wake import Poker, poke, socket_path
from schemas.records import RecordIn
from tests.cluster import Cluster
from tests.factories import household

TOWNSHIP, VILLAGE = "632322101", "632322101201"


async def held_at(node: object, record_id: uuid.UUID, within_s: float) -> float:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        response = await node.client.get(f"/api/v1/records/{record_id}")  # type: ignore[attr-defined]
        if response.status_code == 200:
            return within_s - (deadline - time.monotonic())
        await asyncio.sleep(0.05)
    raise AssertionError(f"{record_id} not at the parent within {within_s} s")


async def test_a_write_by_another_process_reaches_the_parent_at_once(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, live=True)
    try:
        township = await cluster.add(TOWNSHIP, "Kangyang Town")
        village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
        first = uuid.UUID((await village.write(household(unit=VILLAGE)))["id"])
        await held_at(township, first, 10)  # the loop is idle now, its heartbeat 600 s away
        await asyncio.sleep(0.3)

        other = open_node(village.settings, create=False)  # as `tiersync import` would
        poker = Poker(village.settings.data_dir)
        other.db.on_commit(poker)
        try:
            written, _ = records.put_record(
                other.db,
                node=other.identity,
                record_id=uuid.uuid4(),
                body=RecordIn(**household(unit=VILLAGE)),
            )
            poker.flush()
        finally:
            other.db.dispose()
        assert await held_at(township, written.id, 5) < 5
    finally:
        await cluster.close()


def test_a_poke_with_nobody_serving_is_no_error(tmp_path: Path) -> None:
    assert poke(tmp_path) is False
    assert not socket_path(tmp_path).exists()
