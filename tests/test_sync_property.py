"""Property: any interleaving of writes, pushes, lost acks and outages converges at the top."""

import asyncio
import contextlib
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.errors import FederationError
from tests.cluster import Cluster
from tests.factories import person

TOP = "632322101"
VILLAGES = ("632322101201", "632322101202")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from(VILLAGES), st.integers(0, 5)),
        st.tuples(st.just("delete"), st.sampled_from(VILLAGES), st.integers(0, 5)),
        st.tuples(st.just("push"), st.sampled_from(VILLAGES), st.just(0)),
        st.tuples(st.just("lose_ack"), st.sampled_from(VILLAGES), st.just(0)),
        st.tuples(st.just("link_down"), st.sampled_from(VILLAGES), st.just(0)),
        st.tuples(st.just("link_up"), st.sampled_from(VILLAGES), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


async def scenario(steps: list[tuple[str, str, int]], tmp: Path) -> None:
    cluster = Cluster(tmp)
    try:
        await cluster.add(TOP, "Kangyang Town")
        for code in VILLAGES:
            await cluster.add(code, code, parent=TOP)
        slots: dict[str, list[str | None]] = {v: [None] * 6 for v in VILLAGES}
        for op, village, slot in steps:
            node = cluster.nodes[village]
            if op == "write":
                rid = slots[village][slot]
                body = person(unit=village)
                if rid is None:
                    slots[village][slot] = (await node.write(body))["id"]
                else:
                    await node.client.put(f"/api/v1/records/{rid}", json=body)
            elif op == "delete" and slots[village][slot] is not None:
                await node.client.delete(f"/api/v1/records/{slots[village][slot]}")
            elif op == "push":
                with contextlib.suppress(FederationError):
                    await node.replicator.run_once()
            elif op == "lose_ack":
                cluster.router.lose_next_response.add(TOP)
                with contextlib.suppress(FederationError):
                    await node.replicator.run_once()
            elif op == "link_down":
                cluster.router.down.add(TOP)
            elif op == "link_up":
                cluster.router.down.discard(TOP)
        cluster.router.down.clear()
        cluster.router.lose_next_response.clear()
        await cluster.sync()
        top = cluster.nodes[TOP]
        expected: dict[str, Any] = {}
        for village in VILLAGES:
            for rid in filter(None, slots[village]):
                got = await cluster.nodes[village].client.get(f"/api/v1/records/{rid}")
                expected[rid] = got.json()["version"] if got.status_code == 200 else None
        for rid, version in expected.items():
            got = await top.client.get(f"/api/v1/records/{rid}")
            held = got.json()["version"] if got.status_code == 200 else None
            assert held == version, (rid, held, version)
        live = sum(1 for v in expected.values() if v is not None)
        assert (await top.summary())["counts"].get("person", 0) == live
    finally:
        await cluster.close()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=ops)
def test_any_interleaving_converges_at_the_top(steps: list[tuple[str, str, int]]) -> None:
    """A lost ack is a crash of the child between send and ack; a link down, of the parent."""
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(scenario(steps, Path(tmp)))
