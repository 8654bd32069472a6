"""A person moving to a village under another township, and the same id written in two
subtrees (issue 10, defect 8; docs/decisions/0652)."""

import uuid
from typing import Any

from node.records import repository as records_repo
from node.units.service import register_unit
from tests.cluster import Cluster, Node
from tests.factories import person
from tests.test_ops_support import verify

COUNTY, T1, T2 = "632322", "632322101", "632322102"
A, A2, B = "632322101202", "632322101203", "632322102202"  # villages without a node


async def two_townships(cluster: Cluster) -> tuple[Node, Node, Node]:
    county = await cluster.add(COUNTY, "Jianzha County")
    t1 = await cluster.add(T1, "Kangyang Town", parent=COUNTY)
    t2 = await cluster.add(T2, "Second Town", parent=COUNTY)
    for node, units in ((t1, (A, A2)), (t2, (B,))):
        with node.ctx.db.write() as txn:
            for code in units:
                register_unit(txn, code=code, name=f"Village {code[-3:]}")
    await cluster.sync()
    return county, t1, t2


async def persons(node: Node, unit: str | None = None) -> int:
    return int((await node.summary(unit))["counts"].get("person", 0))


async def move(node: Node, rid: str, expect: int = 200, **body: Any) -> dict[str, Any]:
    response = await node.client.post(f"/api/v1/records/{rid}/move", json=body)
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def row(node: Node, rid: str) -> Any:
    with node.ctx.db.read() as conn:
        return records_repo.get_row(conn, uuid.UUID(rid))


async def test_a_move_across_townships_ends_one_record_and_begins_the_other(
    cluster: Cluster,
) -> None:
    county, t1, t2 = await two_townships(cluster)
    body = person(A)
    resident = await t1.write(body)
    await t1.write(person(A))
    await cluster.sync()
    assert (await persons(county, T1), await persons(county, T2)) == (2, 0)
    # The county holds neither village: it cannot move a township's record.
    refused = await move(county, resident["id"], 409, unit=B)
    assert T1 in refused["error"]["message"]

    # The new township takes the person in (it does not hold the old record) …
    taken = await move(t2, resident["id"], unit=B, kind="person", data=body["data"], from_unit=A)
    assert taken["ended"] is False and taken["pending"] and A in taken["pending"]
    new_id = taken["moved_to"]["id"]
    assert taken["begun"]["id"] == new_id and taken["begun"]["unit"] == B
    assert taken["begun"]["data"]["moved_from"] == {"id": resident["id"], "unit": A}
    # … and the old one lets the person go: the same new id, derived at both ends.
    left = await move(t1, resident["id"], unit=B)
    assert left["ended"] is True and left["begun"] is None
    assert left["moved_to"] == {"id": new_id, "unit": B}
    again = await move(t1, resident["id"], unit=B)  # repeated: nothing more happens
    assert again["ended"] is True
    await cluster.sync()

    assert (await persons(t1), await persons(t1, A), await persons(t2, B)) == (1, 1, 1)
    assert (await persons(county), await persons(county, T1), await persons(county, T2)) == (
        2,
        1,
        1,
    )
    old, new = row(county, resident["id"]), row(county, new_id)
    assert old.deleted and old.data == {"moved_to": {"id": new_id, "unit": B}}
    assert not new.deleted and new.origin == T2 and new.data["moved_from"]["id"] == resident["id"]
    assert (await t1.client.get(f"/api/v1/records/{resident['id']}")).status_code == 404
    for node in (county, t1, t2):
        assert (await verify(cluster, node)).ok


async def test_a_move_within_one_holder_is_one_step(cluster: Cluster) -> None:
    county, t1, _t2 = await two_townships(cluster)
    resident = await t1.write(person(A, grid=A + "003"))
    moved = await move(t1, resident["id"], unit=A2)
    assert moved["ended"] is True and moved["pending"] is None
    assert moved["begun"]["unit"] == A2 and "grid" not in moved["begun"]["data"]
    await cluster.sync()
    assert (await persons(county, A), await persons(county, A2), await persons(county)) == (
        0,
        1,
        1,
    )


async def test_the_same_id_written_in_two_subtrees_fails_verify_until_settled(
    cluster: Cluster,
) -> None:
    county, t1, t2 = await two_townships(cluster)
    rid = str(uuid.uuid4())
    body = person(A)
    assert (await t1.client.put(f"/api/v1/records/{rid}", json=body)).status_code == 201
    other = person(B)
    assert (await t2.client.put(f"/api/v1/records/{rid}", json=other)).status_code == 201
    await cluster.sync()

    found = await verify(cluster, county)
    assert not found.ok
    assert [(c.id, c.origins) for c in found.conflicts] == [(rid, [T1, T2])]
    loser = await verify(cluster, t1)  # T2 wrote last: its version is kept above
    assert not loser.ok and loser.parent is not None and loser.parent.conflicts == 1
    assert (await verify(cluster, t2)).ok

    # Settled: the copy that should go is deleted, the one that stays written again.
    assert (await t1.client.delete(f"/api/v1/records/{rid}")).status_code == 204
    await cluster.sync()
    assert not (await verify(cluster, county)).ok  # the county now shows it deleted
    assert (await t2.client.put(f"/api/v1/records/{rid}", json=other)).status_code == 200
    await cluster.sync()
    for node in (county, t1, t2):
        report = await verify(cluster, node)
        assert report.ok, (node.code, report)
    assert (await persons(county, T2), await persons(county, T1)) == (1, 0)
