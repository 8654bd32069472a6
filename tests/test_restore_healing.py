"""A child notices a parent that went back (restored) from the parent's answers, and resends at
once; enrolments travel up only for the sender's own children."""

from pathlib import Path

import httpx

from node.uplink import connect_parent
from tests.cluster import Cluster
from tests.conftest import COUNTY, TOWNSHIP, VILLAGE
from tests.directives_support import puller
from tests.factories import person
from tests.restore_support import backed_up, restored
from tests.test_ops_support import live_ids


async def test_the_directive_pull_tells_the_child_its_parent_went_back(
    cluster: Cluster, tmp_path: Path
) -> None:
    await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    for _ in range(5):
        await village.write(person())
    await cluster.sync()
    await backed_up(cluster, TOWNSHIP, tmp_path / "township.db")
    later = [(await village.write(person()))["id"] for _ in range(5)]
    await cluster.sync()
    await restored(cluster, TOWNSHIP, tmp_path / "township.db")
    assert len(live_ids(cluster.nodes[TOWNSHIP])) == 5

    # Nothing new is written at the village: only the pull's answer can tell it.
    await puller(village).run_once()
    assert await village.replicator.run_once() == 5
    assert set(later) <= set(live_ids(cluster.nodes[TOWNSHIP]))


async def test_a_child_cannot_send_up_enrolments_of_nodes_not_its_own(cluster: Cluster) -> None:
    await cluster.add(COUNTY, "Jianzha County")
    township = await cluster.add(TOWNSHIP, "Kangyang Town", parent=COUNTY)
    await cluster.sync()
    peer = connect_parent(township.settings, transport=cluster.router)
    cursor = await peer.cursor(source=TOWNSHIP)
    await peer.aclose()
    body = {
        "protocol": 1,
        "source": TOWNSHIP,
        "since": cursor,
        "until": cursor,
        "head": cursor,
        "enrolments": [
            {
                "code": "632322102201",  # a village of another township
                "credential": "0" * 64,
                "created_at": "2026-01-01T00:00:00Z",
            }
        ],
    }
    async with httpx.AsyncClient(transport=cluster.router, auth=township.as_child()) as client:
        answer = await client.post(
            f"http://{COUNTY}/api/v1/sync/push",
            json=body,
            headers={"X-Tiersync-Protocol": "1"},
        )
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "enrolments.0.code"
