"""rebuild --force keeps un-pushed changes; commands that move cursors refuse beside `serve`."""

from pathlib import Path

import pytest

from node.ops import actions
from node.servelock import NodeBusy, owning
from tests.cluster import Cluster, Node
from tests.conftest import TOWNSHIP, VILLAGE
from tests.factories import person
from tests.test_ops_support import ACTOR, live_ids


async def pair(cluster: Cluster) -> tuple[Node, Node]:
    township = await cluster.add(TOWNSHIP, "Kangyang Town")
    village = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    return township, village


async def test_rebuild_force_sends_what_was_never_pushed(cluster: Cluster) -> None:
    township, village = await pair(cluster)
    sent = [(await village.write(person()))["id"] for _ in range(3)]
    await cluster.sync()
    cluster.router.down.add(TOWNSHIP)  # the link is down while the village keeps working
    unsent = [(await village.write(person()))["id"] for _ in range(2)]
    cluster.router.down.discard(TOWNSHIP)
    report = await actions.run_rebuild(
        village.ctx, actor=ACTOR, transport=cluster.router, force=True
    )
    assert report.records == 0  # the village held the parent's copy already
    await cluster.sync()
    assert sorted(live_ids(township)) == sorted(sent + unsent)
    fresh = (await village.write(person()))["id"]
    await cluster.sync()
    assert sorted(live_ids(township)) == sorted([*sent, *unsent, fresh])


async def test_cursor_moving_commands_refuse_while_the_node_serves(
    cluster: Cluster, tmp_path: Path
) -> None:
    _, village = await pair(cluster)
    await village.write(person())
    data_dir = village.settings.data_dir
    url = "http://127.0.0.1:8123"
    with owning(data_dir, what="tiersync serve", node=VILLAGE, url=url):
        with pytest.raises(NodeBusy) as busy:
            await actions.run_resync(village.ctx, since=0, actor=ACTOR, transport=cluster.router)
        assert VILLAGE in busy.value.message and url in busy.value.message
        assert "正在" in busy.value.message or "使用" in busy.value.message
        with pytest.raises(NodeBusy):
            await actions.run_rebuild(village.ctx, actor=ACTOR, transport=cluster.router)
        # A second `serve` on the same data is refused too.
        with pytest.raises(NodeBusy), owning(data_dir, what="tiersync serve", node=VILLAGE):
            pass
    # Once the node stops, the same command runs.
    done = await actions.run_resync(village.ctx, since=0, actor=ACTOR, transport=cluster.router)
    assert done["records"] == 1
