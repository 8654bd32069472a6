"""GET /api/v1/sync/quarantine and /conflicts: typed pages (offset, limit, total), newest
first, personal data masked, timestamps with their offset; the metrics count the same."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from node.records import repository as records_repo
from node.sync import repository as sync_repo
from schemas.sync import PROTOCOL_VERSION
from tests.cluster import Cluster, Node
from tests.conftest import TOWNSHIP, VILLAGE
from tests.factories import person
from tests.metrics_support import scrape, value


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Node, Node]]:
    cluster = Cluster(tmp_path)
    township = await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    yield township, village
    await cluster.close()


def future_record(n: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": "person",
        "unit": VILLAGE,
        "data": person()["data"],
        "version": f"{(1 << 50) + n:016x}.{VILLAGE}",
        "deleted": False,
        "schema_version": 90 + n,  # a schema this node does not know: quarantined
    }


async def test_quarantine_pages_newest_first_masked(pair: tuple[Node, Node]) -> None:
    township, village = pair
    records = [future_record(n) for n in range(3)]
    batch = {
        "protocol": PROTOCOL_VERSION,
        "source": VILLAGE,
        "since": 0,
        "until": 1,
        "head": 1,
        "records": records,
        "units": [],
    }
    auth = {"Authorization": f"Bearer {village.settings.parent_token}"}
    pushed = await township.client.post("/api/v1/sync/push", json=batch, headers=auth)
    assert pushed.json()["quarantined"] == 3

    first = (await township.client.get("/api/v1/sync/quarantine", params={"limit": 2})).json()
    assert (first["total"], first["offset"], first["limit"], len(first["items"])) == (3, 0, 2, 2)
    rest = await township.client.get("/api/v1/sync/quarantine", params={"offset": 2})
    items = first["items"] + rest.json()["items"]
    assert [i["record_id"] for i in items] == [r["id"] for r in reversed(records)]
    newest = items[0]
    assert newest["child"] == VILLAGE and "schema version 92" in newest["reason"]
    assert datetime.fromisoformat(newest["at"]).utcoffset() is not None
    clear = records[2]["data"]["id_number"]
    assert newest["payload"]["data"]["id_number"] != clear
    assert "data.id_number" in newest["masked"]
    samples, _ = await scrape(township.client)
    assert value(samples, "tiersync_quarantined_records") == 3


async def test_conflicts_page_and_bad_paging_is_422(pair: tuple[Node, Node]) -> None:
    township, _ = pair
    body = person(unit=TOWNSHIP + "000")
    with township.ctx.db.write() as txn:
        records_repo.add_conflicts(
            txn.conn,
            [
                {
                    "record_id": uuid.uuid4(),
                    "kept_version": f"{(1 << 50) + 9:016x}.{TOWNSHIP}",
                    "lost_version": f"{(1 << 50) + n:016x}.{TOWNSHIP}",
                    "lost_unit": TOWNSHIP,
                    "lost_deleted": False,
                    "lost_data": body["data"],
                    "at": datetime.now(UTC),
                }
                for n in range(3)
            ],
        )
    page = (await township.client.get("/api/v1/sync/conflicts", params={"limit": 1})).json()
    assert (page["total"], len(page["items"])) == (3, 1)
    assert page["items"][0]["lost_version"].startswith(f"{(1 << 50) + 2:016x}")
    samples, _ = await scrape(township.client)
    assert value(samples, "tiersync_conflicts") == 3
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        for path in ("/api/v1/sync/conflicts", "/api/v1/sync/quarantine"):
            refused = await township.client.get(path, params=params)
            assert refused.status_code == 422, (path, params)
            assert refused.json()["error"]["details"][0]["field"] == next(iter(params))
    with township.ctx.db.read() as conn:
        assert sync_repo.quarantined_count(conn) == 0
