"""A child may change at its parent only what it owns (docs/protocol.md, Ownership).

Each test is an attack made in-process with the child's own credential: the parent refuses it
with 403 naming the record, stores nothing of the push, keeps the owner's version and audits it.
"""

import uuid
from typing import Any

import httpx

from federation.hlc import LOGICAL_BITS, wall_ms
from node.audit.repository import list_audit
from schemas.directives import receipt_id
from tests.cluster import Cluster, Node
from tests.conftest import TOWNSHIP, VILLAGE
from tests.directives_support import (
    DONGMEN,
    KANGYANG,
    WEST_VILLAGE,
    deliver,
    huangnan,
    issue,
    report,
)
from tests.directives_support import progress as directive_progress
from tests.factories import person
from tests.test_sync_protocol import OTHER_VILLAGE, raw_push, wire_record

FAR_AHEAD = f"{1 << 60:016x}"  # an hlc beyond the parent's clock: quarantined, if allowed


def later() -> str:
    """An hlc newer than any a test node has made, within the parent's clock skew."""
    return f"{(wall_ms() + 60_000) << LOGICAL_BITS:016x}"


async def held(node: Node, record_id: str) -> dict[str, Any]:
    response = await node.client.get(f"/api/v1/records/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def as_wire(record: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    keys = ("id", "kind", "unit", "data", "version", "deleted", "schema_version")
    return {k: record[k] for k in keys} | overrides


def assert_refused(response: httpx.Response, record_id: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert record_id in error["message"] + str(error["details"])


def refusals(node: Node) -> list[Any]:
    with node.ctx.db.read() as conn:
        return [e for e in list_audit(conn, action="sync.push") if e.outcome == "refused"]


async def test_a_child_reusing_a_siblings_id_is_refused(chain: Cluster) -> None:
    await chain.add(OTHER_VILLAGE, "Other Village", parent=TOWNSHIP)
    owner, rival = chain.nodes[VILLAGE], chain.nodes[OTHER_VILLAGE]
    township = chain.nodes[TOWNSHIP]
    written = await owner.write(person())
    await chain.sync()
    before = await held(township, written["id"])
    # The rival pushes a newer version of the same id, unit and origin its own.
    forged = wire_record(OTHER_VILLAGE, id=written["id"], version=f"{later()}.{OTHER_VILLAGE}")
    assert_refused(await raw_push(township, rival, [forged]), written["id"])
    assert await held(township, written["id"]) == before
    # A tombstone of it changes nothing either: taken as the rival giving up a copy of a
    # conflicting id (docs/decisions/0652), it is logged as lost, not stored, not refused.
    tomb = forged | {"deleted": True}
    assert (await raw_push(township, rival, [tomb])).status_code == 200
    assert (await held(township, written["id"]))["deleted"] is False
    assert len(refusals(township)) == 1
    lost = (await township.client.get("/api/v1/sync/conflicts")).json()["items"]
    assert [(c["record_id"], c["lost_deleted"]) for c in lost] == [(written["id"], True)]
    # The owner goes on editing its record as before.
    body = person(unit=VILLAGE)
    assert (await owner.client.put(f"/api/v1/records/{written['id']}", json=body)).is_success
    await chain.sync()
    assert (await held(township, written["id"]))["origin"] == VILLAGE


async def test_a_child_overwriting_its_parents_record_is_refused(chain: Cluster) -> None:
    township, village = chain.nodes[TOWNSHIP], chain.nodes[VILLAGE]
    mine = await township.write(person(unit=TOWNSHIP))  # made at the township
    forged = as_wire(await held(township, mine["id"]), unit=VILLAGE, version=f"{later()}.{VILLAGE}")
    assert_refused(await raw_push(township, village, [forged]), mine["id"])
    # A version too far ahead to apply now is still judged: refused, not quarantined.
    ahead = forged | {"version": f"{FAR_AHEAD}.{VILLAGE}"}
    assert_refused(await raw_push(township, village, [ahead]), mine["id"])
    assert (await township.client.get("/api/v1/sync/quarantine")).json()["total"] == 0
    assert (await held(township, mine["id"]))["origin"] == TOWNSHIP


async def test_forging_a_siblings_receipt_is_refused(tmp_path: Any) -> None:
    cluster = Cluster(tmp_path)
    try:
        net = await huangnan(cluster)
        town, dongmen, west = net.nodes[KANGYANG], net.nodes[DONGMEN], net.nodes[WEST_VILLAGE]
        directive = await issue(town, target={"units": [DONGMEN, WEST_VILLAGE]})
        await deliver(net)
        assert (await report(west, directive["id"], "done", "all screened")).is_success
        await net.sync()
        rid = str(receipt_id(uuid.UUID(directive["id"]), WEST_VILLAGE))
        genuine = await held(town, rid)
        # Dongmen writes "West Village: delivered only" under West Village's receipt id...
        data = genuine["data"] | {"state": "delivered", "note": None}
        as_dongmen = as_wire(genuine, data=data, unit=DONGMEN, version=f"{later()}.{DONGMEN}")
        assert_refused(await raw_push(town, dongmen, [as_dongmen]), rid)
        assert await held(town, rid) == genuine
        # ...or a receipt id of West Village's not yet written, to block its real one.
        second = await issue(town, target={"units": [WEST_VILLAGE]})
        early = str(receipt_id(uuid.UUID(second["id"]), WEST_VILLAGE))
        claim = as_dongmen | {"id": early, "data": data | {"directive_id": second["id"]}}
        assert_refused(await raw_push(town, dongmen, [claim]), early)
        await deliver(net)
        assert (await directive_progress(town, second["id"]))["delivered"] == 1
        assert (await directive_progress(town, directive["id"]))["done"] == 1
    finally:
        await cluster.close()


async def test_tombstoning_the_parents_directive_is_refused(tmp_path: Any) -> None:
    cluster = Cluster(tmp_path)
    try:
        net = await huangnan(cluster)
        town, dongmen = net.nodes[KANGYANG], net.nodes[DONGMEN]
        directive = await issue(town, target={"units": [DONGMEN]})
        await deliver(net)
        original = await held(town, directive["id"])
        tomb = as_wire(original, deleted=True, version=f"{later()}.{DONGMEN}", unit=DONGMEN)
        assert_refused(await raw_push(town, dongmen, [tomb]), directive["id"])
        assert await held(town, directive["id"]) == original
        # Nor may a child push up a directive claiming another issuer than itself.
        fake = as_wire(original, id=str(uuid.uuid4()), version=f"{later()}.{DONGMEN}", unit=DONGMEN)
        assert_refused(await raw_push(town, dongmen, [fake]), fake["id"])
    finally:
        await cluster.close()
