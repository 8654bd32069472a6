"""Origin seals through relays (issue 13, docs/decisions/0951): each batch carries its origin's
seal, a township keeps its villages' seals and forwards them with their records, and a county
holding the prefecture's CA refuses what the township changed, dropped or re-signed on the way
— naming the record and its origin, without holding back the rest of the push."""

import base64
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from federation import origin
from federation.crypto import suite
from federation.identity import Identity
from node import tls
from node.audit import repository as audit_repo
from node.bundles import service as bundles
from node.cli.status import _child
from node.models import Record, table
from node.ops.exchanges import apply_repair
from node.ops.status import node_status
from node.origins.repository import relayed
from node.records import repository as records_repo
from node.records.wire import record_to_wire
from node.sync import quarantine
from node.sync.receive import receiver
from schemas.ops import RepairBatch
from tests.cluster import Cluster, Node
from tests.factories import person

COUNTY, TOWNSHIP, VILLAGE = "632322", "632322101", "632322101201"
HELD_UNIT = TOWNSHIP + "001"  # a village without a node, kept by the township


@pytest.fixture(params=["default", "sm"])
def crypto(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def cluster(tmp_path: Path):
    c = Cluster(tmp_path)
    yield c
    await c.close()


async def tree(
    cluster: Cluster,
    crypto: str = "default",
    *,
    ca: bool = True,
    ca_at: tuple[str, ...] = (COUNTY, TOWNSHIP, VILLAGE),
    **township: Any,
) -> dict[str, Node]:
    """County ← township ← village, each node's key certified by the prefecture's CA (which
    the nodes `ca_at` hold), as `tiersync ca issue` sets them up."""
    if ca:
        ca_dir = cluster.tmp_path / "prefecture"
        tls.init_ca(ca_dir, name="prefecture")
        for code in (COUNTY, TOWNSHIP, VILLAGE):
            data_dir = cluster.tmp_path / code
            issued = tls.issue(ca_dir, code=code, hosts=["127.0.0.1"], suite_name=crypto)
            Identity.of(data_dir, crypto).adopt(issued.directory)
            if code in ca_at:
                (data_dir / "tls").mkdir(parents=True, exist_ok=True)
                shutil.copy(issued.ca, data_dir / "tls" / "ca.pem")
    nodes = {COUNTY: await cluster.add(COUNTY, crypto=crypto)}
    nodes[TOWNSHIP] = await cluster.add(TOWNSHIP, parent=COUNTY, crypto=crypto, **township)
    nodes[VILLAGE] = await cluster.add(VILLAGE, parent=TOWNSHIP, crypto=crypto)
    await cluster.sync(rounds=2)  # keys travel up before any record
    return nodes


def held(node: Node, record_id: str) -> dict[str, Any] | None:
    with node.ctx.db.read() as conn:
        row = records_repo.get_row(conn, uuid.UUID(record_id))
    return dict(row.data) if row is not None else None


def in_transit(node: Node, change: Callable[[Any], None]) -> None:
    """Make `node` a compromised relay: `change` rewrites every batch it reads to push."""
    store = node.replicator.store
    read = type(store).read_batch.__get__(store)  # the honest one, not an earlier change

    def altered(*args: Any, **kwargs: Any) -> Any:
        batch = read(*args, **kwargs)
        change(batch)
        return batch

    store.read_batch = altered  # type: ignore[method-assign]


def quarantined(node: Node) -> dict[str, str]:
    return {e["record_id"]: e["reason"] for e in quarantine.list_entries(node.ctx.db)}


def child_status(node: Node, code: str) -> Any:
    return {c.code: c for c in node_status(node.ctx).children}[code]


async def test_a_village_record_altered_by_the_township_is_refused_at_the_county(
    cluster: Cluster, crypto: str
) -> None:
    nodes = await tree(cluster, crypto)
    village, township, county = nodes[VILLAGE], nodes[TOWNSHIP], nodes[COUNTY]
    written = [await village.write(person()) for _ in range(3)]
    await village.replicator.run_once()
    own = await township.write(person(unit=HELD_UNIT))
    target = written[1]["id"]

    def forge(batch: Any) -> None:
        for rec in batch.records:
            if rec["id"] == target:
                rec["data"] = {**rec["data"], "sex": "female", "birth_date": "1970-01-01"}

    in_transit(township, forge)
    await township.replicator.run_once()  # acknowledged: the push is not wedged
    assert held(county, target) is None
    reason = quarantined(county)[target]
    assert f"记录 {target}（来源 {VILLAGE}）未通过来源签名检查" in reason
    assert "转发途中被改动" in reason
    assert held(county, own["id"]) is not None  # the township's own record is applied
    status = child_status(county, TOWNSHIP)
    assert status.origin_seals == "checked" and status.seals_refused >= 1
    assert "来源签名不符，已隔离" in _child(status)
    assert any("来源签名不符" in p and TOWNSHIP in p for p in node_status(county.ctx).problems)
    with county.ctx.db.read() as conn:
        entries = audit_repo.list_audit(conn, action="sync.origin_seal")
    assert entries and target in entries[0].detail and VILLAGE in entries[0].detail
    # A retry of the whole quarantine (as at every start) does not apply it either.
    receiver(county.ctx).retry_quarantined()
    assert held(county, target) is None


async def test_relay_batches_that_split_and_supersede_a_villages_batch_verify(
    cluster: Cluster,
) -> None:
    nodes = await tree(cluster, batch_max_records=2)
    village, township, county = nodes[VILLAGE], nodes[TOWNSHIP], nodes[COUNTY]
    written = [await village.write(person()) for _ in range(5)]
    await village.replicator.run_once()
    # A second village batch changes one record of the first before the township pushes: the
    # township no longer holds that version and forwards its leaf for the first seal.
    changed = {**written[0]["data"], "name": "Changed"}
    response = await village.client.put(
        f"/api/v1/records/{written[0]['id']}",
        json={"kind": "person", "unit": VILLAGE, "data": changed},
    )
    assert response.status_code == 200, response.text
    await village.replicator.run_once()
    batch = township.replicator.store.read_batch(
        township.replicator.store.acked(), max_records=2, max_bytes=4_000_000
    )
    seals = batch.sections["origins"]["seals"]
    assert seals and all(s["origin"] == VILLAGE for s in seals)
    assert any(s.get("leaves", {}).get("county") for s in seals)  # the records it leaves out
    await cluster.sync(rounds=4)
    assert quarantined(county) == {}
    for rec in written:
        assert held(county, rec["id"]) is not None
    assert held(county, written[0]["id"])["name"] != written[0]["data"]["name"]
    assert child_status(county, TOWNSHIP).seals_refused == 0


async def test_a_township_that_drops_or_forges_a_seal_is_caught(cluster: Cluster) -> None:
    nodes = await tree(cluster)
    village, township, county = nodes[VILLAGE], nodes[TOWNSHIP], nodes[COUNTY]
    first = await village.write(person())
    await cluster.sync()
    assert held(county, first["id"]) is not None  # the village's seals verified once

    # Dropped: the township passes the village's record off as unsealed (an old release).
    def drop(batch: Any) -> None:
        origins = batch.sections["origins"]
        kept = [s for s in origins["seals"] if s["origin"] != VILLAGE]
        if len(kept) != len(origins["seals"]):
            batch.sections["origins"] = {"seals": kept, "unsealed": [VILLAGE]}

    in_transit(township, drop)
    dropped = await village.write(person())
    await cluster.sync()
    assert held(county, dropped["id"]) is None
    assert "中间节点去掉了签名" in quarantined(county)[dropped["id"]]

    # Forged: the township re-signs the roots of what it sends with a key of its own.
    rogue = suite("default").generate_signing_key()

    def resign(batch: Any) -> None:
        for entry in batch.sections["origins"]["seals"]:
            if entry["origin"] == VILLAGE:
                seal = origin.Seal(VILLAGE, entry["since"], entry["until"], entry["roots"])
                signed = suite("default").sign(rogue, seal.message())
                entry["signature"] = base64.b64encode(signed).decode()

    in_transit(township, resign)
    forged = await village.write(person())
    await cluster.sync()
    assert held(county, forged["id"]) is None
    assert "signature does not verify" in quarantined(county)[forged["id"]]


async def test_a_child_of_an_earlier_release_without_the_section_still_replicates(
    cluster: Cluster,
) -> None:
    nodes = await tree(cluster)
    village, township, county = nodes[VILLAGE], nodes[TOWNSHIP], nodes[COUNTY]

    def earlier_release(batch: Any) -> None:
        batch.sections.pop("origins", None)

    in_transit(village, earlier_release)
    written = await village.write(person())
    await cluster.sync()
    assert held(township, written["id"]) is not None
    assert held(county, written["id"]) is not None  # forwarded as unsealed, taken
    at_township = child_status(township, VILLAGE)
    assert at_township.origin_seals == "not sent" and at_township.seals_unchecked == 1
    assert "未发送（旧版本，未验证）" in _child(at_township)
    assert child_status(county, TOWNSHIP).seals_unchecked == 1
    assert quarantined(county) == {} and quarantined(township) == {}
    # The village upgrades: its records are sealed from then on. The township resending all
    # it holds (a rewind) sends the old record unsealed, as it came: still taken.
    village.replicator.store.read_batch = type(village.replicator.store).read_batch.__get__(
        village.replicator.store
    )
    sealed = await village.write(person())
    await cluster.sync()
    assert held(county, sealed["id"]) is not None
    township.replicator.store.rewind(0)
    await township.replicator.run_once()
    assert quarantined(county) == {}
    assert child_status(county, TOWNSHIP).seals_unchecked == 2


async def test_without_a_ca_nothing_is_checked_and_status_says_so(cluster: Cluster) -> None:
    nodes = await tree(cluster, ca=False)
    written = await nodes[VILLAGE].write(person())
    await cluster.sync()
    assert held(nodes[COUNTY], written["id"]) is not None
    status = child_status(nodes[COUNTY], TOWNSHIP)
    assert status.origin_seals == "not checked"
    assert "未检查（本节点没有 CA）" in _child(status)
    with nodes[TOWNSHIP].ctx.db.read() as conn:  # the township still keeps seals to forward
        assert conn.execute(select(relayed.c.origin)).scalars().all() == [VILLAGE]


async def test_an_offline_bundle_carries_the_seals_and_a_repair_is_counted_unchecked(
    cluster: Cluster, tmp_path: Path
) -> None:
    nodes = await tree(cluster)
    village, township = nodes[VILLAGE], nodes[TOWNSHIP]
    carried = [await village.write(person()) for _ in range(2)]
    up = tmp_path / "up.tsb"
    bundles.export_up(village.ctx, out=up)
    bundles.import_up(township.ctx, path=up, receipt=None)
    assert all(held(township, r["id"]) is not None for r in carried)
    assert quarantined(township) == {}
    assert child_status(township, VILLAGE).origin_seals == "checked"
    # A repair carries no seals: taken unchecked and counted, the child still shown as sealing.
    record = await village.write(person())
    with village.ctx.db.read() as conn:
        row = records_repo.get_row(conn, uuid.UUID(record["id"]))
    repair = RepairBatch(protocol=1, source=VILLAGE, records=[record_to_wire(row)])
    assert apply_repair(township.ctx, child=VILLAGE, batch=repair).applied == 1
    status = child_status(township, VILLAGE)
    assert (status.origin_seals, status.seals_unchecked) == ("checked", 1)


async def test_a_township_without_the_ca_forwards_the_seals_the_county_checks(
    cluster: Cluster,
) -> None:
    nodes = await tree(cluster, ca_at=(COUNTY,))
    village, township, county = nodes[VILLAGE], nodes[TOWNSHIP], nodes[COUNTY]
    honest = await village.write(person())
    await cluster.sync()
    assert held(county, honest["id"]) is not None
    assert child_status(township, VILLAGE).origin_seals == "not checked"
    altered = await village.write(person())
    await village.replicator.run_once()

    def forge(batch: Any) -> None:
        for rec in batch.records:
            if rec["id"] == altered["id"]:
                rec["data"] = {**rec["data"], "status": "moved_out"}

    in_transit(township, forge)
    await township.replicator.run_once()
    assert held(county, altered["id"]) is None
    assert f"记录 {altered['id']}（来源 {VILLAGE}）" in quarantined(county)[altered["id"]]


async def test_a_record_the_township_stores_again_later_keeps_its_seal(cluster: Cluster) -> None:
    """Applied from the township's own quarantine (a clock set right), a village record takes a
    new log position there: the township still finds its seal by the village's batch."""
    nodes = await tree(cluster)
    village, township, county = nodes[VILLAGE], nodes[TOWNSHIP], nodes[COUNTY]
    first, later = await village.write(person()), await village.write(person())
    await village.replicator.run_once()
    with township.ctx.db.write() as txn:
        records = table(Record)
        txn.conn.execute(
            update(records).where(records.c.id == uuid.UUID(later["id"])).values(seq=txn.tick())
        )
    await township.replicator.run_once()
    assert quarantined(county) == {}
    assert held(county, first["id"]) is not None and held(county, later["id"]) is not None
