"""The live incident feed: an incident posted at a village reaches every ancestor's feed as
replication stores it there; the SSE endpoint sends a snapshot, events, keep-alives and what a
reconnecting client missed; slow clients are cut off, failures survived, streams ended at stop."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.app import create_app
from node.live import broadcaster as live_module
from node.live.broadcaster import Broadcaster
from node.settings import Settings
from tests.access_support import operator_client
from tests.cluster import Cluster
from tests.conftest import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE
from tests.lifespan import running
from tests.serving import read_events, served

GRID = VILLAGE + "003"


def incident(
    category: str = "fire", title: str = "Grassland fire by the winter pasture", **more: Any
) -> Any:
    data = {
        "category": category,
        "title": title,
        "status": "reported",
        "reported_at": datetime.now(UTC).isoformat(),
        "reporter": "多杰",
        "grid": GRID,
        **more,
    }
    return {"kind": "incident", "unit": GRID, "data": data}


def feed(node: Any) -> Broadcaster:
    live = node.ctx.live_feed
    assert isinstance(live, Broadcaster)
    return live


async def test_a_village_incident_reaches_every_ancestors_feed(chain: Cluster) -> None:
    above = (PREFECTURE, COUNTY, TOWNSHIP)
    subs = {code: feed(chain.nodes[code]).subscribe(code) for code in above}
    elsewhere = feed(chain.nodes[PREFECTURE]).subscribe("632323")  # Zeku's screen
    village_sub = feed(chain.nodes[VILLAGE]).subscribe(VILLAGE)
    written = await chain.nodes[VILLAGE].write(incident())
    await chain.sync()
    for code, sub in {**subs, VILLAGE: village_sub}.items():
        got = await asyncio.wait_for(sub.queue.get(), 5)
        assert got is not None and str(got.id) == written["id"], code
        assert got.priority == "high" and got.status == "reported" and got.unit == GRID
        assert got.title == "Grassland fire by the winter pasture"
        assert "reporter" not in got.model_dump()  # no personal data on the screens
    # Exactly one event per stored version, and none on a screen of another subtree.
    assert all(s.queue.empty() for s in [*subs.values(), village_sub, elsewhere])


async def test_the_reporters_priority_wins_over_the_categorys(chain: Cluster) -> None:
    sub = feed(chain.nodes[PREFECTURE]).subscribe(PREFECTURE)
    await chain.nodes[VILLAGE].write(incident("hazard", "Dam cracking", priority="high"))
    await chain.nodes[VILLAGE].write(incident("fire", "Old stove smoking", priority="normal"))
    await chain.sync()
    got = [await asyncio.wait_for(sub.queue.get(), 5) for _ in range(2)]
    assert {(g.title, g.priority) for g in got if g is not None} == {
        ("Dam cracking", "high"),
        ("Old stove smoking", "normal"),
    }


async def test_places_are_named_from_below_the_node(chain: Cluster) -> None:
    sub = feed(chain.nodes[PREFECTURE]).subscribe(PREFECTURE)
    await chain.nodes[VILLAGE].write(incident("hazard", "Loose power line"))
    await chain.sync()
    got = await asyncio.wait_for(sub.queue.get(), 5)
    assert got is not None and got.priority == "normal"
    assert [(p.unit, p.name) for p in got.place] == [
        (COUNTY, "Jianzha County"),
        (TOWNSHIP, "Kangyang Town"),
        (VILLAGE, "Dongmen Village"),
        (GRID, GRID),  # no grid record: named by its code
    ]


def test_the_event_stream_sends_snapshot_events_keepalives_and_replays(tmp_path: Path) -> None:
    app = create_app(Settings(code=VILLAGE, name="Dongmen Village", data_dir=tmp_path / "v"))
    with served(app) as [node], httpx.Client(base_url=node.url, headers=node.auth) as http:
        feed(node).heartbeat_s = 0.3
        first = http.post("/api/v1/records", json=incident("hazard", "Rockfall on the road"))
        assert first.status_code == 201
        with http.stream("GET", "/api/v1/live/incidents") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            [(event, head, data)] = read_events(lines, 1)
            snapshot = json.loads(data)
            assert event == "snapshot" and int(head) == snapshot["head"]
            assert [i["title"] for i in snapshot["items"]] == ["Rockfall on the road"]
            second = http.post("/api/v1/records", json=incident()).json()
            # The next event is the incident (a write slower than the 0.3 s heartbeat, on a
            # loaded machine, lets keepalives come first), then the stream keeps alive.
            [(event, _id, data)] = read_events(lines, 1)
            assert event == "incident" and json.loads(data)["id"] == second["id"]
            assert read_events(lines, 1, comments=True) == [("comment", None, "keepalive")]
        # A client that reconnects after the snapshot is sent what it missed, and only that.
        with http.stream("GET", "/api/v1/live/incidents", headers={"Last-Event-ID": head}) as again:
            [(event, _id, data)] = read_events(again.iter_lines(), 1)
            assert event == "incident" and json.loads(data)["id"] == second["id"]
        outside = http.get("/api/v1/live/incidents", params={"unit": "632322101202"})
        assert outside.status_code == 403
        assert outside.json()["error"]["details"][0]["field"] == "unit"
        unknown = http.get("/api/v1/live/incidents", params={"unit": VILLAGE + "009"})
        assert unknown.status_code == 404
        assert feed(node).subscribers == set()  # every stream that ended unsubscribed


async def _node(tmp_path: Path) -> Any:
    return create_app(Settings(code=VILLAGE, data_dir=tmp_path / "v"), run_replicator=False)


async def test_a_client_that_falls_behind_is_cut_off_not_buffered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_module, "QUEUE_MAX", 2)
    app = await _node(tmp_path)
    async with running(app):
        live = feed(app.state)
        slow, quick = live.subscribe(VILLAGE), live.subscribe(VILLAGE)
        async with operator_client(app) as client:
            for n in range(3):
                await client.post("/api/v1/records", json=incident(title=f"fire {n}"))
                got = await asyncio.wait_for(quick.queue.get(), 5)  # this one keeps up
                assert got is not None and got.title == f"fire {n}"
        assert slow.dropped and slow not in live.subscribers and quick in live.subscribers
        assert slow.queue.get_nowait() is None  # its stream ends; the client reconnects


async def test_the_feed_survives_a_failed_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_module, "RETRY_S", 0.01)
    app = await _node(tmp_path)
    async with running(app):
        live = feed(app.state)
        real, failures = live._read_after, [RuntimeError("database is locked")]

        def flaky(after: int) -> Any:
            if failures:
                raise failures.pop()
            return real(after)

        monkeypatch.setattr(live, "_read_after", flaky)
        sub = live.subscribe(VILLAGE)
        async with operator_client(app) as client:
            written = (await client.post("/api/v1/records", json=incident())).json()
        got = await asyncio.wait_for(sub.queue.get(), 5)
        assert got is not None and str(got.id) == written["id"] and live.errors == 1


async def test_nobody_watching_reads_nothing_and_a_late_viewer_gets_only_what_is_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a subscriber a commit costs the feed no read (on main: one read of the log's
    head in a worker thread after every commit, a push's among them); a viewer who comes later
    gets what is written after it subscribed, not the incidents before."""
    app = await _node(tmp_path)
    async with running(app):
        live = feed(app.state)
        reads: list[str] = []
        head, read_after = live._head, live._read_after

        def counted_head() -> int:
            reads.append("head")
            return head()

        def counted_after(after: int) -> Any:
            reads.append("after")
            return read_after(after)

        monkeypatch.setattr(live, "_head", counted_head)
        monkeypatch.setattr(live, "_read_after", counted_after)
        async with operator_client(app) as client:
            for _ in range(3):
                assert (await client.post("/api/v1/records", json=incident())).status_code == 201
            await asyncio.sleep(0.05)
            assert reads == []
            sub = live.subscribe(VILLAGE)
            written = (await client.post("/api/v1/records", json=incident(title="新的"))).json()
            got = await asyncio.wait_for(sub.queue.get(), 5)
        assert got is not None and str(got.id) == written["id"]
        assert sub.queue.empty()  # none of the three before it


async def test_stopping_the_node_ends_every_stream(tmp_path: Path) -> None:
    app = await _node(tmp_path)
    async with running(app):
        live = feed(app.state)
        subs = [live.subscribe(VILLAGE), live.subscribe(GRID)]
    assert [s.queue.get_nowait() for s in subs] == [None, None]
    assert live.subscribers == set()
    live.notify()  # a late commit (a CLI writing after shutdown) is harmless


async def test_the_feed_reads_the_log_on_both_engines(
    tmp_path: Path, database_url_factory: Any
) -> None:
    settings = Settings(
        code=VILLAGE, data_dir=tmp_path / "v", database_url=database_url_factory("v")
    )
    app = create_app(settings, run_replicator=False)
    async with running(app):
        live = feed(app.state)
        sub = live.subscribe(VILLAGE)
        async with operator_client(app) as client:
            written = (await client.post("/api/v1/records", json=incident())).json()
            await client.post(
                "/api/v1/records",
                json={
                    "kind": "household",
                    "unit": VILLAGE,
                    "data": {"address": "1", "head_name": "A"},
                },
            )
        got = await asyncio.wait_for(sub.queue.get(), 5)
        assert got is not None and str(got.id) == written["id"]
        snapshot = await live.snapshot(VILLAGE)
        assert [str(i.id) for i in snapshot.items] == [written["id"]]
        assert await live.replay(VILLAGE, got.seq) == []
