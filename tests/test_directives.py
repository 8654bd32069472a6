"""Directives down, receipts up: four levels in one process (docs/protocol.md, Directives down).

The tests of this module share one ten-node network (building one costs seconds); each issues
its own directives and looks only at those. Recovery cases get fresh networks in
test_directives_recovery.py.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Select

from federation.hlc import wall_ms
from federation.puller import Puller, PullerConfig
from node.audit.repository import list_audit
from node.directives import feed, repository
from node.directives.progress import view_progress
from node.directives.service import complete, issue_resync, pending_resync_requests
from node.sync.repository import child_cursor
from schemas.directives import DirectiveFeed
from tests.cluster import Cluster
from tests.directives_support import (
    DONGMEN,
    FAR_VILLAGE,
    HAZANG,
    JIANZHA,
    KANGYANG,
    MAIXIU,
    OTHER_TOWN,
    PREFECTURE,
    WEST_VILLAGE,
    ZEKU,
    copies_of,
    counts,
    deliver,
    huangnan,
    inbox,
    issue,
    migrated_sqlite,
    progress,
    puller,
    report,
)
from tests.factories import person
from tests.statements import statements_run

__all__ = ["migrated_sqlite"]
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def net(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> AsyncIterator[Cluster]:
    root = tmp_path_factory.mktemp("huangnan")
    cluster = Cluster(root, copies_of(migrated_sqlite, root))
    try:
        yield await huangnan(cluster)
    finally:
        await cluster.close()


async def received(node: Any, directive_id: str) -> list[dict[str, Any]]:
    return [item for item in await inbox(node) if item["id"] == directive_id]


async def test_level_target_across_two_counties_with_drill_down(net: Cluster) -> None:
    top = net.nodes[PREFECTURE]
    sent = await issue(top, target={"level": "village"}, kind="screening", body="Screen all grids")
    assert sent["target_units"] == [DONGMEN, WEST_VILLAGE, FAR_VILLAGE, HAZANG]
    assert counts(sent) == (4, 0, 0, 0, 0)
    await deliver(net)
    for code in (DONGMEN, WEST_VILLAGE, FAR_VILLAGE, HAZANG):
        [item] = await received(net.nodes[code], sent["id"])
        assert (item["state"], item["kind"], item["body"]) == (
            "delivered",
            "screening",
            "Screen all grids",
        )
    for code in (JIANZHA, KANGYANG, MAIXIU):  # relays hold it but are not targets
        relay = net.nodes[code]
        assert await received(relay, sent["id"]) == []
        assert (await relay.client.get(f"/api/v1/records/{sent['id']}")).status_code == 200
    assert counts(await progress(top, sent["id"])) == (4, 4, 0, 0, 0)

    no_body = await net.nodes[DONGMEN].client.post(f"/api/v1/directives/{sent['id']}/ack")
    assert no_body.status_code == 200 and no_body.json()["state"] == "acknowledged"
    done = await report(net.nodes[HAZANG], sent["id"], "done", "3 grids screened")
    assert done.json()["state"] == "done" and done.json()["note"] == "3 grids screened"
    await net.sync()
    view = await progress(top, sent["id"])
    assert counts(view) == (4, 4, 2, 1, 0)
    by_child = {
        c["unit"]: (c["name"], c["targets"], c["acknowledged"], c["done"]) for c in view["by_child"]
    }
    assert by_child == {JIANZHA: ("Jianzha County", 3, 1, 0), ZEKU: ("Zeku County", 1, 1, 1)}
    assert [(lag["unit"], lag["state"]) for lag in view["laggards"]] == [
        (WEST_VILLAGE, "delivered"),
        (FAR_VILLAGE, "delivered"),
        (DONGMEN, "acknowledged"),
    ]
    # An intermediate level sees the same for its part of the tree.
    county = await progress(net.nodes[JIANZHA], sent["id"])
    assert counts(county) == (3, 3, 1, 0, 0)
    assert [c["unit"] for c in county["by_child"]] == [KANGYANG, OTHER_TOWN]
    listed = (await top.client.get("/api/v1/directives")).json()["items"]
    assert [d["done"] for d in listed if d["id"] == sent["id"]] == [1]


async def test_unit_list_reaches_only_the_listed_units(net: Cluster) -> None:
    sent = await issue(net.nodes[PREFECTURE], target={"units": [KANGYANG, HAZANG]})
    await deliver(net)
    assert len(await received(net.nodes[KANGYANG], sent["id"])) == 1
    assert len(await received(net.nodes[HAZANG], sent["id"])) == 1
    for code in (DONGMEN, WEST_VILLAGE, FAR_VILLAGE, OTHER_TOWN):
        node = net.nodes[code]
        assert await received(node, sent["id"]) == []
        assert (await node.client.get(f"/api/v1/records/{sent['id']}")).status_code == 404
    assert counts(await progress(net.nodes[PREFECTURE], sent["id"])) == (2, 2, 0, 0, 0)


async def test_targets_outside_the_subtree_or_unknown_are_refused(net: Cluster) -> None:
    county = net.nodes[JIANZHA]
    outside = await issue(county, 403, target={"units": [DONGMEN, HAZANG]})
    assert outside["error"]["details"] == [
        {"field": "target.units.1", "reason": f"{HAZANG} not below {JIANZHA}"}
    ]
    unknown = await issue(county, 422, target={"units": ["632322101299"]})
    assert unknown["error"]["details"][0]["field"] == "target.units.0"
    above = await issue(county, 422, target={"level": "county"})
    assert above["error"]["message"] == f"level county is not below this node ({JIANZHA})"
    await issue(county, 422, target={"level": "village", "subtree": True})
    await issue(county, 422, kind="notice", record_id=str(uuid.uuid4()))  # not a correction
    await issue(county, 422, kind="correction", record_id=str(uuid.uuid4()))  # no such record
    await issue(county, 422, kind="task")  # no target


class RoguePeer:
    """A parent that passes down a directive its child must not accept."""

    def __init__(self, feed: DirectiveFeed) -> None:
        self.feed = feed

    async def pull_directives(self, *, since: int, wait_s: float) -> DirectiveFeed:
        return self.feed


async def test_directive_from_a_non_ancestor_is_refused_and_audited(net: Cluster) -> None:
    # A sibling township's directive reaches the county by the push, as every record does...
    sibling = await issue(net.nodes[OTHER_TOWN], target={"units": [FAR_VILLAGE]})
    await net.sync()
    county, kangyang = net.nodes[JIANZHA], net.nodes[KANGYANG]
    assert (await county.client.get(f"/api/v1/records/{sibling['id']}")).status_code == 200
    # ...but is never served down to another child,
    feed = await county.client.get(
        "/api/v1/sync/directives", params={"since": 0}, auth=kangyang.as_child()
    )
    assert feed.status_code == 200
    assert sibling["id"] not in [r["id"] for r in feed.json()["records"]]
    assert (await county.client.get("/api/v1/sync/directives")).status_code == 401
    # ...and a parent that forwards it anyway (forged or buggy) is refused and audited.
    record = (await county.client.get(f"/api/v1/records/{sibling['id']}")).json()
    wire = {
        k: record[k] for k in ("id", "kind", "unit", "data", "version", "deleted", "schema_version")
    }
    rogue = Puller(
        store=puller(kangyang).store,
        peer=RoguePeer(DirectiveFeed(cursor=0, records=[wire])),
        config=PullerConfig(),
    )
    assert await rogue.run_once() == 0
    assert (await kangyang.client.get(f"/api/v1/records/{sibling['id']}")).status_code == 404
    with kangyang.ctx.db.read() as conn:
        [entry] = [e for e in list_audit(conn) if e.action == "directives.pull"]
        pull = repository.get_pull(conn)
    assert entry.outcome == "refused" and "not an ancestor" in entry.detail
    assert pull is not None and pull.refused == 1


async def test_overdue_counts_follow_the_injected_clock(net: Cluster) -> None:
    top = net.nodes[PREFECTURE]
    now = datetime.now(UTC)
    clock = {"ms": int(now.timestamp() * 1000)}
    top.ctx.db.clock = lambda: clock["ms"]
    try:
        await _overdue(net, top, now, clock)
    finally:
        top.ctx.db.clock = wall_ms
        # Its clock ran two hours ahead (the cancel) and was set back: the versions it issues
        # stay that far ahead, which the module's later tests leave as they were by widening
        # its bound (else it refuses to issue, `clock_behind`: tests/test_clock_skew.py).
        top.ctx.db.max_skew_ms = 3 * 3600 * 1000


async def _overdue(net: Cluster, top: Any, now: datetime, clock: dict[str, int]) -> None:
    deadline = (now + timedelta(hours=1)).isoformat()
    sent = await issue(top, target={"level": "township"}, kind="task", deadline=deadline)
    await deliver(net)
    await report(net.nodes[KANGYANG], sent["id"], "done")
    await net.sync()
    assert counts(await progress(top, sent["id"])) == (3, 3, 1, 1, 0)
    clock["ms"] += 2 * 3600 * 1000  # two hours later: the deadline has passed
    view = await progress(top, sent["id"])
    assert counts(view) == (3, 3, 1, 1, 2)
    assert {lag["unit"] for lag in view["laggards"] if lag["overdue"]} == {OTHER_TOWN, MAIXIU}
    assert [(c["unit"], c["overdue"]) for c in view["by_child"]] == [(JIANZHA, 1), (ZEKU, 1)]
    cancelled = await top.client.post(f"/api/v1/directives/{sent['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["overdue"] == 0


async def test_cancel_and_supersede_travel_down(net: Cluster) -> None:
    top = net.nodes[PREFECTURE]
    first = await issue(top, target={"level": "village"}, kind="task")
    second = await issue(top, target={"units": [HAZANG]}, kind="notice")
    await deliver(net)
    assert (await top.client.post(f"/api/v1/directives/{first['id']}/cancel")).status_code == 200
    replaced = await top.client.post(
        f"/api/v1/directives/{second['id']}/supersede",
        json={"title": "Corrected notice", "target": {"units": [HAZANG]}},
    )
    assert replaced.status_code == 201, replaced.text
    await deliver(net)
    items = {i["id"]: i for i in await inbox(net.nodes[HAZANG])}  # with other tests' ones
    assert items[first["id"]]["status"] == "cancelled"
    assert items[second["id"]]["status"] == "superseded"
    assert items[second["id"]]["superseded_by"] == replaced.json()["id"]
    assert items[replaced.json()["id"]]["status"] == "active"
    late = await report(net.nodes[DONGMEN], first["id"], "ack")
    assert late.status_code == 409
    again = await top.client.post(f"/api/v1/directives/{first['id']}/cancel")
    assert again.status_code == 409
    below = await net.nodes[JIANZHA].client.post(f"/api/v1/directives/{first['id']}/cancel")
    assert below.status_code == 403  # only the issuer changes its directive


async def test_correction_request_reaches_the_owner_who_refuses_with_a_reason(
    net: Cluster,
) -> None:
    west = net.nodes[WEST_VILLAGE]
    resident = await west.write(person(unit=WEST_VILLAGE))
    await net.sync()
    county = net.nodes[JIANZHA]
    sent = await issue(
        county, kind="correction", record_id=resident["id"], body="Birth date looks wrong"
    )
    assert sent["target_units"] == [WEST_VILLAGE]
    await deliver(net)
    [item] = await received(west, sent["id"])
    assert (item["kind"], item["record_id"]) == ("correction", resident["id"])
    refused = await report(west, sent["id"], "reject", "Checked against the household register")
    assert refused.json()["note"] == "rejected: Checked against the household register"
    await net.sync()
    view = await progress(county, sent["id"])
    assert (view["done"], view["rejected"]) == (1, 1)
    wrong = await issue(
        county, 422, kind="correction", record_id=resident["id"], target={"units": [DONGMEN]}
    )
    assert "owner" in wrong["error"]["message"]


async def test_correction_request_applied_by_the_owner_through_the_records_api(
    net: Cluster,
) -> None:
    dongmen, top = net.nodes[DONGMEN], net.nodes[PREFECTURE]
    resident = await dongmen.write(person(unit=DONGMEN))
    await net.sync()
    sent = await issue(top, kind="correction", record_id=resident["id"], body="Name misspelt")
    await deliver(net)
    fixed = {"kind": "person", "unit": DONGMEN, "data": resident["data"] | {"name": "Tashi"}}
    assert (await dongmen.client.put(f"/api/v1/records/{resident['id']}", json=fixed)).is_success
    assert (await report(dongmen, sent["id"], "done", "name corrected")).status_code == 200
    await net.sync()
    assert counts(await progress(top, sent["id"]))[3] == 1
    held = (await top.client.get(f"/api/v1/records/{resident['id']}")).json()
    # The prefecture holds names masked (the default privacy policy): the corrected one.
    assert resident["data"]["name"][0] != "T" and held["data"]["name"] == "T****"


async def test_resync_request_is_pending_at_the_target_until_done(net: Cluster) -> None:
    county = net.nodes[JIANZHA]
    sent = await issue(county, kind="resync", target={"units": [KANGYANG]})
    asked = issue_resync(county.ctx, child=OTHER_TOWN, since=42)  # the operator tools' way
    await deliver(net)
    kangyang, other = net.nodes[KANGYANG], net.nodes[OTHER_TOWN]
    [pending] = pending_resync_requests(kangyang.ctx.db)
    assert str(pending.id) == sent["id"] and pending.state == "delivered"
    complete(kangyang.ctx.db, node=kangyang.ctx.identity, directive_id=pending.id, note="resent")
    assert pending_resync_requests(kangyang.ctx.db) == []
    [theirs] = pending_resync_requests(other.ctx.db)
    assert theirs.id == asked and "position 42" in theirs.body


async def test_view_progress_for_the_views_domain(net: Cluster) -> None:
    top = net.nodes[PREFECTURE]
    sent = await issue(top, target={"level": "village"}, title="For the big screen")
    await deliver(net)
    items = view_progress(top.ctx.db, node=top.ctx.identity, unit=ZEKU)
    [mine] = [i for i in items if str(i.id) == sent["id"]]
    assert (mine.targets, mine.delivered) == (1, 1)


async def test_an_idle_held_poll_reads_the_feed_once_and_ends_with_a_fresh_push_cursor(
    net: Cluster,
) -> None:
    county, kangyang = net.nodes[JIANZHA], net.nodes[KANGYANG]
    await net.sync()
    ctx = county.ctx
    since = feed.read_feed(ctx.db, child=KANGYANG, since=0).cursor  # nothing new after it
    with statements_run(county.ctx.db.engine, mentioning="FROM directive_entries") as feed_reads:
        poll = asyncio.create_task(
            feed.wait_for_feed(ctx.db, ctx.directive_signal, child=KANGYANG, since=since, wait_s=1)
        )
        await asyncio.sleep(0.2)  # held now
        await kangyang.write(person(KANGYANG))
        await kangyang.replicator.run_once()  # a push while the poll is held: no directive
        answer = await poll
    assert len(feed_reads) == 1  # at its arrival only: no directive committed since
    with ctx.db.read() as conn:
        assert answer.push_cursor == child_cursor(conn, KANGYANG) > 0  # what it holds now
    assert (answer.records, answer.cursor, answer.more) == ([], since, False)


async def test_an_idle_poll_builds_no_sql_statement(
    net: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Building a select costs several times what running it costs on SQLite: the statements
    # of a child's every request (its credential, the feed, the push cursor) are built once.
    county, kangyang = net.nodes[JIANZHA], net.nodes[KANGYANG]
    since = feed.read_feed(county.ctx.db, child=KANGYANG, since=0).cursor
    built: list[str] = []
    init = Select.__init__
    polled = {"child_credentials", "directive_entries", "child_sync", "directive_pull"}

    def counted(self: Select[Any], *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        # Only the poll's tables: the network's background tasks run meanwhile.
        built.extend(polled & {getattr(f, "name", "") for f in self.get_final_froms()})

    monkeypatch.setattr(Select, "__init__", counted)
    answer = await county.client.get(
        "/api/v1/sync/directives", params={"since": since, "wait": 0}, auth=kangyang.as_child()
    )
    assert answer.status_code == 200 and answer.json()["records"] == []
    assert built == []
