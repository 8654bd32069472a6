"""Directives to units without a node of their own: the node that holds them receives,
acknowledges and completes them (issue 10, defect 11; docs/decisions/0651).

The demo's topology in one process: twelve nodes, and 23 of the 26 villages run none.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import pytest_asyncio

from node.seed import build_topology
from node.seed.topology import owner_node
from node.units.service import register_unit
from tests.cli_support import run
from tests.cluster import Cluster
from tests.directives_support import copies_of, counts, deliver, issue, migrated_sqlite, progress

__all__ = ["migrated_sqlite"]
pytestmark = pytest.mark.asyncio(loop_scope="module")
PREFECTURE, HENAN, KANGYANG, DONGMEN = "6323", "632324", "632322101", "632322101201"
TUOYEMA = "632324106"  # six herders' committees, none with a node
UNITS = build_topology("demo")
NODES = sorted((u for u in UNITS if u.node), key=lambda u: (len(u.code), u.code))
VILLAGES = sorted(u.code for u in UNITS if u.level == "village")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def demo(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> AsyncIterator[Cluster]:
    root = tmp_path_factory.mktemp("demo")
    cluster = Cluster(root, copies_of(migrated_sqlite, root))
    codes = {u.code for u in NODES}
    try:
        for unit in NODES:
            await cluster.add(unit.code, unit.name, parent=unit.parent if unit.parent else None)
            held = [u for u in UNITS if not u.node and owner_node(u.code, codes) == unit.code]
            with cluster.nodes[unit.code].ctx.db.write() as txn:
                for u in held:
                    if u.level != "grid":
                        register_unit(txn, code=u.code, name=u.name)
        await cluster.sync()
        yield cluster
    finally:
        await cluster.close()


def held_by(node: str) -> list[str]:
    codes = {u.code for u in NODES}
    return [v for v in VILLAGES if owner_node(v, codes) == node]


async def test_a_directive_to_every_village_reaches_all_26(demo: Cluster) -> None:
    top = demo.nodes[PREFECTURE]
    assert len(VILLAGES) == 26 and len(held_by(KANGYANG)) == 13 and len(held_by(TUOYEMA)) == 6
    directive = await issue(top, target={"level": "village"})
    await deliver(demo)
    view = await progress(top, directive["id"])
    assert counts(view) == (26, 26, 0, 0, 0)
    # The holders say so in their inbox: Kangyang answers for its villages without a node.
    inbox = (await demo.nodes[KANGYANG].client.get("/api/v1/directives?inbox=true")).json()
    item = next(i for i in inbox["items"] if i["id"] == directive["id"])
    assert item["state"] == "delivered" and item["units"] == held_by(KANGYANG)


async def test_ack_and_done_at_the_holder_count_at_the_issuer(
    demo: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    top, kangyang, tuoyema = (demo.nodes[c] for c in (PREFECTURE, KANGYANG, TUOYEMA))
    directive = await issue(top, target={"level": "village"})
    await deliver(demo)
    # `tiersync directive ack` at the township, for every village it holds.
    for key in [k for k in os.environ if k.startswith("TIERSYNC_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TIERSYNC_CODE", KANGYANG)
    monkeypatch.setenv("TIERSYNC_DATA_DIR", str(kangyang.settings.data_dir))
    monkeypatch.setenv("TIERSYNC_DATABASE_URL", str(kangyang.settings.database_url))
    acked = run("directive", "ack", directive["id"], "--json")
    assert acked.exit_code == 0, acked.output
    assert orjson.loads(acked.stdout)["units"] == held_by(KANGYANG)
    # One of Tuoyema's committees, done through the API.
    village = held_by(TUOYEMA)[0]
    done = await tuoyema.client.post(
        f"/api/v1/directives/{directive['id']}/done", json={"units": [village]}
    )
    assert done.status_code == 200, done.text
    # A village with a node of its own answers for itself, not its township.
    refused = await kangyang.client.post(
        f"/api/v1/directives/{directive['id']}/ack", json={"units": [DONGMEN]}
    )
    assert refused.status_code == 403 and DONGMEN in refused.text, refused.text
    await demo.sync()
    acknowledged = len(held_by(KANGYANG)) + 1
    assert counts(await progress(top, directive["id"])) == (26, 26, acknowledged, 1, 0)
    by_child = {c["unit"]: c for c in (await progress(top, directive["id"]))["by_child"]}
    assert by_child[HENAN]["done"] == 1


async def test_the_issuer_delivers_to_the_units_it_holds_itself(demo: Cluster) -> None:
    kangyang = demo.nodes[KANGYANG]
    directive = await issue(kangyang, target={"level": "village"})
    assert counts(await progress(kangyang, directive["id"]))[:2] == (14, 13)  # not yet Dongmen
    await deliver(demo)
    assert counts(await progress(kangyang, directive["id"]))[:2] == (14, 14)
