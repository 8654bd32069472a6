"""What node/wiring.py puts together: the features on the core's seams, one connection to the
parent, and one encoding of a push for the wire and for a bundle."""

from pathlib import Path

from node.app import open_node
from node.bundles import service as bundles
from node.digests import reads as digests
from node.records import service as records
from node.settings import Settings
from node.views import service as views
from schemas.records import RecordCreate
from tests.cluster import Cluster
from tests.conftest import COUNTY, TOWNSHIP, VILLAGE
from tests.factories import household, person
from tests.test_views_freshness import GRID, build, freshness_at, push, row


async def test_a_serving_child_reaches_its_parent_over_one_connection(chain: Cluster) -> None:
    village = chain.nodes[VILLAGE]
    parent, replicator, puller = village.ctx.parent, village.ctx.replicator, village.ctx.puller
    assert parent is not None and replicator is not None and puller is not None
    assert replicator.peer is parent and puller.peer is parent

    await village.write(person())
    assert await replicator.run_once() == 1
    await puller.run_once()
    assert parent.stats.batches == 1 and parent.stats.records == 1 and parent.stats.pulls == 1


async def test_an_offline_bundle_carries_the_freshness_of_the_nodes_below(
    cluster: Cluster, tmp_path: Path
) -> None:
    """A bundle holds what a push would: a county that takes its township's changes by hand
    learns how old the village's data is, as it would online (the bundle once lacked it)."""
    clock = await build(cluster)
    await cluster.nodes[VILLAGE].write(person(unit=GRID))
    await push(cluster, VILLAGE)  # the village reaches its township, now
    clock.advance(hours=2)  # the township's link up is down; its operator carries a bundle

    bundle = tmp_path / "township-up.tsb"
    bundles.export_up(cluster.nodes[TOWNSHIP].ctx, out=bundle)
    imported = bundles.import_up(cluster.nodes[COUNTY].ctx, path=bundle, receipt=None)
    assert imported.applied == 1

    at_county = await freshness_at(cluster, COUNTY, TOWNSHIP)
    assert row(at_county, VILLAGE)["age_s"] == 7200 and row(at_county, VILLAGE)["stale"] is True
    assert at_county["freshness"]["age_s"] == 0  # the township itself was heard just now


def test_a_node_opened_by_the_cli_keeps_views_and_digests_with_its_writes(
    tmp_path: Path,
) -> None:
    settings = Settings(code=VILLAGE, name="Dongmen Village", data_dir=tmp_path / "village")
    ctx = open_node(settings)
    try:
        records.create_record(ctx.db, node=ctx.identity, body=RecordCreate(**household()))
        assert views.summary(ctx).counts == {"household": 1}
        with ctx.db.read() as conn:
            assert digests.root(conn, VILLAGE)["household"][0] == 1
    finally:
        ctx.db.dispose()
