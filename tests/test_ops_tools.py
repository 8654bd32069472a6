"""rebuild, bundles, resync, status and the children's digest reports, in one process."""

import shutil
from pathlib import Path

import pytest

from node.app import open_node
from node.audit import service as audit
from node.bundles import service as bundles
from node.bundles.file import BundleRefused
from node.directives import service as directives
from node.ops import actions, status
from node.sync.runner import build_replicator
from node.units.service import enrol_child
from node.uplink import connect_parent
from schemas.directives import DirectiveCreate
from schemas.kinds.directive import Target
from tests.cluster import Cluster, Node
from tests.conftest import PREFECTURE, TOWNSHIP, VILLAGE
from tests.factories import person
from tests.test_ops_support import ACTOR, live_ids, release_files, sql, verify

OTHER_TOWNSHIP, OTHER_VILLAGE = "632322102", "632322102201"


async def pair(cluster: Cluster) -> tuple[Node, Node]:
    township = await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    return township, village


async def test_village_rebuilt_from_township_writes_again(chain: Cluster) -> None:
    village = chain.nodes[VILLAGE]
    written = [await village.write(person()) for _ in range(12)]
    await village.client.delete(f"/api/v1/records/{written[0]['id']}")
    await chain.sync()
    # The disk dies: a new, empty database, and the node's key with it. Its enrolment code
    # was spent on that key, so the township enrols it again (`tiersync child add`).
    release_files(village)
    shutil.rmtree(village.settings.data_dir)
    township = chain.nodes[TOWNSHIP].ctx.db
    code = enrol_child(township, node_code=TOWNSHIP, code=VILLAGE, name="").token
    village.settings = village.settings.model_copy(update={"parent_token": code})
    village.app.state.ctx = open_node(village.settings)
    parent = connect_parent(village.settings, transport=chain.router)
    village.ctx.replicator = build_replicator(village.ctx, parent)
    report = await actions.run_rebuild(village.ctx, actor=ACTOR, transport=chain.router)
    assert report.records == 12
    assert sorted(live_ids(village)) == sorted(r["id"] for r in written[1:])
    chain._sign_in(village.client, village.app)  # its users were lost with its disk too
    gone = await village.client.get(f"/api/v1/records/{written[0]['id']}")
    assert gone.status_code == 404  # the tombstone came back too
    fresh = await village.write(person())
    assert fresh["version"] > max(r["version"] for r in written)
    pushed = await village.replicator.run_once()
    assert pushed == 1  # nothing of the parent's own copy is sent back up
    await chain.sync()
    top = live_ids(chain.nodes[PREFECTURE])
    assert len(top) == 12 and len(set(top)) == 12 and fresh["id"] in top
    assert (await verify(chain, village)).ok


async def test_rebuild_refuses_a_node_that_holds_records(cluster: Cluster) -> None:
    _, village = await pair(cluster)
    await village.write(person())
    with pytest.raises(Exception, match="already holds records"):
        await actions.run_rebuild(village.ctx, actor=ACTOR, transport=cluster.router)
    assert audit.entries(village.ctx.db)[0].outcome == "failed"


async def test_bundle_imported_twice_is_a_no_op_and_receipt_acks(
    cluster: Cluster, tmp_path: Path
) -> None:
    township, village = await pair(cluster)
    cluster.router.down.add(TOWNSHIP)  # no link at all
    for _ in range(25):
        await village.write(person())
    path = tmp_path / "up.tsb"
    exported = actions.run_bundle_export(village.ctx, out=path, actor=ACTOR)
    assert exported.records == 25
    assert status.node_status(village.ctx).upstream.pending == 26  # type: ignore[union-attr]
    receipt = tmp_path / "receipt.tsb"
    order = DirectiveCreate(title="Screen every grid", target=Target(units=[VILLAGE]))
    directive = directives.issue_directive(township.ctx.db, node=township.ctx.identity, body=order)
    first = actions.run_bundle_import(township.ctx, path=path, receipt=receipt, actor=ACTOR)
    assert (first.applied, first.already_imported) == (25, False)
    again = actions.run_bundle_import(township.ctx, path=path, receipt=receipt, actor=ACTOR)
    assert (again.applied, again.stale, again.already_imported) == (0, 25, True)
    assert len(live_ids(township)) == 25
    assert [e.outcome for e in audit.entries(township.ctx.db)[:2]] == ["no-op", "ok"]
    took = actions.run_bundle_import(village.ctx, path=receipt, receipt=None, actor=ACTOR)
    assert took.cursor == exported.until
    inbox = directives.inbox(village.ctx.db, node=village.ctx.identity).items
    assert [item.id for item in inbox] == [directive]  # carried down with the receipt
    up = status.node_status(village.ctx).upstream
    # Left to send: only the village's receipt saying the directive was delivered.
    assert up is not None and up.pending == 1 and up.bundles_awaiting_receipt == 0
    cluster.router.down.discard(TOWNSHIP)
    assert await village.replicator.run_once() == 1


async def test_bundle_from_wrong_village_or_tampered_is_refused(
    cluster: Cluster, tmp_path: Path
) -> None:
    township, village = await pair(cluster)
    await cluster.add(OTHER_TOWNSHIP, "Second Town")
    far = await cluster.add(OTHER_VILLAGE, "Far Village", parent=OTHER_TOWNSHIP)
    await far.write(person(unit=OTHER_VILLAGE))
    await village.write(person())
    stray = tmp_path / "far.tsb"
    bundles.export_up(far.ctx, out=stray)
    with pytest.raises(BundleRefused, match="addressed to 632322102"):
        bundles.import_up(township.ctx, path=stray, receipt=None)
    good = tmp_path / "good.tsb"
    bundles.export_up(village.ctx, out=good)
    raw = bytearray(good.read_bytes())
    forged = tmp_path / "forged.tsb"  # the header edited to claim it is the other village's
    forged.write_bytes(bytes(raw).replace(VILLAGE.encode(), OTHER_VILLAGE.encode(), 1))
    raw[-5] ^= 0xFF
    tampered = tmp_path / "tampered.tsb"
    tampered.write_bytes(bytes(raw))
    with pytest.raises(BundleRefused, match="damaged or was altered"):
        bundles.import_up(township.ctx, path=tampered, receipt=None)
    with pytest.raises(BundleRefused):
        bundles.import_up(township.ctx, path=forged, receipt=None)
    assert live_ids(township) == []


async def test_resync_resends_everything_idempotently(cluster: Cluster) -> None:
    township, village = await pair(cluster)
    for _ in range(30):
        await village.write(person())
    await cluster.sync()
    seen: list[tuple[int, int]] = []
    result = await actions.run_resync(
        village.ctx,
        since=0,
        actor=ACTOR,
        transport=cluster.router,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result["records"] == 30 and seen[-1][0] == seen[-1][1]
    assert len(live_ids(township)) == 30
    # At the parent: ask the child to resend; its next push is answered 409 and resent.
    asked = actions.run_resync_child(township.ctx, child=VILLAGE, since=0, actor=ACTOR)
    assert asked["cursor"] == 0 and asked["directive"]
    await village.write(person())
    assert await village.replicator.run_once() == 31
    assert len(live_ids(township)) == 31


async def test_parent_checks_children_by_their_digest_reports(cluster: Cluster) -> None:
    township, village = await pair(cluster)
    records = [await village.write(person()) for _ in range(10)]
    await cluster.sync()
    child = status.node_status(township.ctx).children[0]
    assert (child.code, child.digest, child.stale, child.lag_changes) == (
        VILLAGE,
        "match",
        False,
        0,
    )
    # The township's copy of one record is damaged behind its back.
    sql(
        township,
        "UPDATE records SET hlc = hlc - 7 WHERE id = :id",
        id=records[3]["id"].replace("-", ""),
    )
    assert (await verify(cluster, township)).ok  # the kept digest does not see a hand edit
    checked = await verify(cluster, township, deep=True)
    assert not checked.ok and checked.children[0].state == "mismatch"
    await village.write(person())
    await village.replicator.run_once()
    assert village.replicator.peer.verify_requested  # type: ignore[attr-defined]
    assert (await verify(cluster, village, repair=True)).ok
    await village.write(person())
    await village.replicator.run_once()
    assert (await verify(cluster, township)).ok
