"""A person moving to a village under another township, and the same id written in two
subtrees (issue 10, defect 8; docs/decisions/0652)."""

import os
import uuid
from typing import Any

import orjson
import pytest

from federation.errors import PeerRejected
from node.digests import conflicts
from node.records import repository as records_repo
from node.records.store import Version, log_given_up
from node.units.service import register_unit
from tests.cli_support import run
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


async def test_a_move_within_one_holder_is_one_step(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    county, t1, _t2 = await two_townships(cluster)
    resident = await t1.write(person(A, grid=A + "003"))
    for key in [k for k in os.environ if k.startswith("TIERSYNC_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TIERSYNC_CODE", T1)
    monkeypatch.setenv("TIERSYNC_DATA_DIR", str(t1.settings.data_dir))
    result = run("records", "move", resident["id"], "--to", A2, "--json")  # tiersync records move
    assert result.exit_code == 0, result.output
    moved = orjson.loads(result.stdout)
    assert moved["ended"] is True and moved["pending"] is None
    assert moved["begun"]["unit"] == A2 and "grid" not in moved["begun"]["data"]
    await cluster.sync()
    assert (await persons(county, A), await persons(county, A2), await persons(county)) == (
        0,
        1,
        1,
    )


async def test_the_same_id_written_in_two_subtrees_fails_verify_until_moved(
    cluster: Cluster,
) -> None:
    county, t1, t2 = await two_townships(cluster)
    rid = str(uuid.uuid4())
    assert (await t1.client.put(f"/api/v1/records/{rid}", json=person(A))).status_code == 201
    assert (await t2.client.put(f"/api/v1/records/{rid}", json=person(B))).status_code == 201
    await t1.replicator.run_once()  # the first to reach the county keeps the id above
    with pytest.raises(PeerRejected):
        await t2.replicator.run_once()

    loser = await verify(cluster, t2)
    assert not loser.ok and loser.parent is not None
    assert [d.id for d in loser.parent.differences] == [rid]
    assert (await verify(cluster, t1)).ok

    # Settled: the second township gives its record a new id (a move within its own unit).
    moved = await move(t2, rid, unit=B)
    assert moved["ended"] is True and moved["begun"]["id"] != rid
    await cluster.sync()
    for node in (county, t1, t2):
        report = await verify(cluster, node)
        assert report.ok, (node.code, report)
    assert (await persons(county, T1), await persons(county, T2)) == (1, 1)
    with county.ctx.db.read() as conn:
        assert conflicts.standing(conn) == []


async def test_an_id_alive_in_two_subtrees_at_the_parent_fails_its_verify(
    cluster: Cluster,
) -> None:
    """Two versions of one id from two subtrees logged at the parent (as a restore may leave
    it): verify there exits 1 until one is deleted and the other written again."""
    county, _t1, t2 = await two_townships(cluster)
    rid = str(uuid.uuid4())
    assert (await t2.client.put(f"/api/v1/records/{rid}", json=person(B))).status_code == 201
    await cluster.sync()
    with county.ctx.db.write() as txn:  # the county's log holds T1's lost version too
        head = records_repo.fetch_heads(txn.conn, [uuid.UUID(rid)])
        lost = Version(uuid.UUID(rid), "person", A, {}, 1, T1, False, 1)
        log_given_up(txn, [lost], head)
    found = await verify(cluster, county)
    assert not found.ok and [(c.id, c.origins) for c in found.conflicts] == [(rid, [T1, T2])]
