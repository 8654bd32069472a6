"""Replication up a four-level chain, in one process."""

from tests.cluster import Cluster
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import household, person


async def test_village_records_reach_every_ancestor_with_same_version(chain: Cluster) -> None:
    village = chain.nodes[VILLAGE]
    written = [await village.write(person()) for _ in range(5)]
    written.append(await village.write(household()))
    await chain.sync()
    for code in (TOWNSHIP, COUNTY, PREFECTURE):
        node = chain.nodes[code]
        for record in written:
            got = await node.client.get(f"/api/v1/records/{record['id']}")
            assert got.status_code == 200, (code, got.text)
            assert got.json()["version"] == record["version"]
            assert got.json()["data"] == record["data"]
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
