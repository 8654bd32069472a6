"""The replication protocol's hard cases, many nodes in one process (docs/protocol.md)."""

import uuid
from typing import Any

import httpx
import pytest

from federation.errors import CursorMismatch, PeerRejected
from schemas.sync import PROTOCOL_VERSION
from tests.cluster import Cluster, Node
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import person
from tests.test_ops_support import backup, restore

OTHER_VILLAGE = "632322101202"


async def ids_at(node: Node, kind: str = "person") -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"kind": kind, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = (await node.client.get("/api/v1/records", params=params)).json()
        out += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def raw_push(
    parent: Node, child: Node, records: list[dict[str, Any]], **fields: Any
) -> httpx.Response:
    batch = {
        "protocol": PROTOCOL_VERSION,
        "source": child.code,
        "since": 0,
        "until": 1,
        "head": 1,
        "records": records,
        "units": [],
    } | fields
    return await parent.client.post("/api/v1/sync/push", json=batch, auth=child.as_child())


def wire_record(unit: str, origin: str | None = None, **overrides: Any) -> dict[str, Any]:
    body = person(unit=unit)
    return {
        "id": str(uuid.uuid4()),
        "kind": "person",
        "unit": unit,
        "data": body["data"],
        "version": f"{1 << 50:016x}.{origin or unit}",
        "deleted": False,
        "schema_version": 1,
    } | overrides


async def test_lost_ack_resends_without_duplicates(chain: Cluster) -> None:
    village = chain.nodes[VILLAGE]
    for _ in range(30):
        await village.write(person())
    chain.router.lose_next_response.add(TOWNSHIP)
    with pytest.raises(Exception, match="ack"):
        await village.replicator.run_once()
    await chain.sync()
    top = chain.nodes[PREFECTURE]
    ids = await ids_at(top)
    assert len(ids) == 30 and len(set(ids)) == 30
    assert (await top.summary())["counts"] == {"person": 30}


async def test_duplicate_batch_is_a_no_op(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    for _ in range(3):
        await village.write(person())
    batch = village.replicator.store.read_batch(0, max_records=100, max_bytes=10**6)
    first = await village.replicator.peer.push(batch, source=VILLAGE)
    again = await village.replicator.peer.push(batch, source=VILLAGE)
    assert (first.applied, first.stale) == (3, 0)
    assert (again.applied, again.stale) == (0, 3)
    assert (await township.summary())["counts"] == {"person": 3}


async def test_a_batch_encoded_ahead_is_sent_as_encoded_and_applied_alike(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    for _ in range(3):
        await village.write(person())
    peer = village.replicator.peer
    batch = village.replicator.store.read_batch(0, max_records=100, max_bytes=10**6)
    ready = peer.prepare(batch, source=VILLAGE)
    before = peer.stats.wire_bytes
    ack = await peer.push(ready, source=VILLAGE)
    assert (ack.applied, ack.cursor) == (3, batch.until)
    assert peer.stats.wire_bytes - before == len(ready.prepared[1].body)
    again = await peer.push(batch, source=VILLAGE)  # the same batch encoded on the spot
    assert (again.applied, again.stale) == (0, 3)
    assert peer.stats.wire_bytes - before == 2 * len(ready.prepared[1].body)
    assert (await township.summary())["counts"] == {"person": 3}


async def test_batch_from_beyond_parent_cursor_is_409_then_child_rewinds(chain: Cluster) -> None:
    village = chain.nodes[VILLAGE]
    for _ in range(4):
        await village.write(person())
    store = village.replicator.store
    full = store.read_batch(0, max_records=100, max_bytes=10**6)
    later = store.read_batch(full.records and full.until - 1, max_records=100, max_bytes=10**6)
    with pytest.raises(CursorMismatch) as mismatch:
        await village.replicator.peer.push(later, source=VILLAGE)
    assert mismatch.value.cursor == 0
    store.save_ack(until=later.since, durable=0)  # the child wrongly believes it got further
    await village.replicator.run_once()  # gets 409, rewinds to the parent's cursor, resends
    assert (await chain.nodes[TOWNSHIP].summary())["counts"] == {"person": 4}


async def test_parent_restored_from_backup_gets_everything_again(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    for _ in range(5):
        await village.write(person())
    await chain.sync()
    old = backup(chain, township, "township-backup")
    for _ in range(5):
        await village.write(person())
    await chain.sync()
    restore(township, old)  # the township's disk replaced by the older backup
    assert (await township.summary())["counts"] == {"person": 5}
    await village.write(person())
    await chain.sync()
    assert (await township.summary())["counts"] == {"person": 11}
    assert len(await ids_at(chain.nodes[PREFECTURE])) == 11


async def test_child_restored_from_backup_keeps_both_sides(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    for _ in range(3):
        await village.write(person())
    await chain.sync()
    old = backup(chain, village, "village-backup")
    for _ in range(2):
        await village.write(person())
    await chain.sync()
    restore(village, old)
    assert (await village.summary())["counts"] == {"person": 3}
    new = await village.write(person())
    await chain.sync()
    top_ids = await ids_at(chain.nodes[PREFECTURE])
    assert len(top_ids) == 6 and new["id"] in top_ids
    assert (await township.summary())["counts"] == {"person": 6}


async def test_move_between_villages_keeps_every_level_right(chain: Cluster) -> None:
    await chain.add(OTHER_VILLAGE, "Other Village", parent=TOWNSHIP)
    other_township = "632322102"
    await chain.add(other_township, "Second Town", parent=COUNTY)
    far_village = "632322102201"
    await chain.add(far_village, "Far Village", parent=other_township)
    dongmen, far = chain.nodes[VILLAGE], chain.nodes[far_village]
    registered = person()
    resident = await dongmen.write(registered)
    await dongmen.write(person())
    await chain.sync()
    # The resident moves: marked moved out (deleted here), registered at the new village.
    await dongmen.client.delete(f"/api/v1/records/{resident['id']}")
    await far.write({"kind": "person", "unit": far_village, "data": registered["data"]})
    await chain.sync()
    assert (await chain.nodes[TOWNSHIP].summary())["counts"] == {"person": 1}
    assert (await chain.nodes[other_township].summary())["counts"] == {"person": 1}
    county = await chain.nodes[COUNTY].summary()
    assert county["counts"] == {"person": 2}
    by_child = {c["unit"]: c["counts"] for c in county["children"]}
    assert by_child == {TOWNSHIP: {"person": 1}, other_township: {"person": 1}}


async def test_forged_batch_outside_subtree_is_403_and_audited(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    good = wire_record(VILLAGE)
    forged = wire_record(OTHER_VILLAGE)
    response = await raw_push(township, village, [good, forged])
    assert response.status_code == 403, response.text
    assert response.json()["error"]["details"][0]["field"] == "records.1.unit"
    assert (await township.client.get(f"/api/v1/records/{good['id']}")).status_code == 404
    # A record claiming to be made by the township itself is forged too.
    as_parent = wire_record(VILLAGE, origin=TOWNSHIP)
    assert (await raw_push(township, village, [as_parent])).status_code == 403
    from node.audit.repository import list_audit

    with township.ctx.db.read() as conn:
        entries = list_audit(conn, action="sync.push")
    assert len(entries) == 2 and all(e.outcome == "refused" for e in entries)


async def test_wrong_credential_is_401_and_stores_nothing(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    record = wire_record(VILLAGE)
    for token in ("nonsense", f"tsk_{VILLAGE}_forgedsecret", ""):
        response = await township.client.post(
            "/api/v1/sync/push",
            json={
                "protocol": 1,
                "source": VILLAGE,
                "since": 0,
                "until": 1,
                "head": 1,
                "records": [record],
                "units": [],
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401
    assert (await township.client.get(f"/api/v1/records/{record['id']}")).status_code == 404
    assert village  # the real village is untouched


async def test_unknown_kind_or_schema_is_quarantined_and_does_not_block(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    good = wire_record(VILLAGE)
    odd_kind = wire_record(VILLAGE, kind="spaceship")
    future = wire_record(VILLAGE, schema_version=99)
    response = await raw_push(township, village, [odd_kind, future, good])
    assert response.status_code == 200, response.text
    ack = response.json()
    assert (ack["applied"], ack["quarantined"]) == (1, 2)
    assert (await township.client.get(f"/api/v1/records/{good['id']}")).status_code == 200
    items = (await township.client.get("/api/v1/sync/quarantine")).json()["items"]
    reasons = sorted(i["reason"] for i in items)
    assert "unknown kind 'spaceship'" in reasons
    assert any("schema version 99" in r for r in reasons)


async def test_protocol_mismatch_names_both_versions(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    response = await raw_push(township, village, [], protocol=PROTOCOL_VERSION + 1)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "protocol_mismatch"
    assert f"protocol {PROTOCOL_VERSION + 1}" in error["message"]
    assert f"speaks {PROTOCOL_VERSION}" in error["message"]


async def test_same_id_from_two_villages_stays_with_the_first_owner(chain: Cluster) -> None:
    """An id held from one village is not another's to change (docs/protocol.md, Ownership):
    the second village's push is refused naming the record, and every level keeps the first."""
    await chain.add(OTHER_VILLAGE, "Other Village", parent=TOWNSHIP)
    rid = str(uuid.uuid4())
    a, b = chain.nodes[VILLAGE], chain.nodes[OTHER_VILLAGE]
    put_a = await a.client.put(f"/api/v1/records/{rid}", json=person(unit=VILLAGE))
    await chain.sync()
    put_b = await b.client.put(f"/api/v1/records/{rid}", json=person(unit=OTHER_VILLAGE))
    assert put_b.json()["version"] > put_a.json()["version"]
    with pytest.raises(PeerRejected, match=f"403: .*{rid} is owned by {VILLAGE}"):
        await b.replicator.run_once()
    for code in (TOWNSHIP, COUNTY, PREFECTURE):
        got = (await chain.nodes[code].client.get(f"/api/v1/records/{rid}")).json()
        assert got["version"] == put_a.json()["version"]
    conflicts = (await chain.nodes[TOWNSHIP].client.get("/api/v1/sync/conflicts")).json()
    assert (conflicts["items"], conflicts["total"]) == ([], 0)
    assert (await chain.nodes[PREFECTURE].summary())["counts"] == {"person": 1}


async def test_parent_down_child_keeps_serving_then_catches_up(chain: Cluster) -> None:
    village = chain.nodes[VILLAGE]
    chain.router.down.add(TOWNSHIP)
    for _ in range(7):
        await village.write(person())
    with pytest.raises(Exception, match="down"):
        await village.replicator.run_once()
    assert (await village.summary())["counts"] == {"person": 7}
    chain.router.down.discard(TOWNSHIP)
    await chain.sync()
    assert (await chain.nodes[PREFECTURE].summary())["counts"] == {"person": 7}
