"""Issue 10, defect 9: the quarantine is not a dead letter. One entry per (child, id, version)
however often it is resent; re-applied when the node starts (after an upgrade) and by
`tiersync quarantine retry`; listed (CLI, and HTTP with offset/limit) and released by an
operator; a tombstone never stays quarantined while the record it deletes lives here."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.sync import receive
from tests.cli_support import isolated, run
from tests.cluster import Cluster, Node
from tests.test_edge_poisons import TOWNSHIP, VILLAGE, push, wire

__all__ = ["isolated"]
FUTURE = 99  # a schema version this node does not know yet


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path)
    try:
        await cluster.add(TOWNSHIP, "Kangyang Town")
        await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
        yield cluster
    finally:
        await cluster.close()


def household(**overrides: Any) -> dict[str, Any]:
    return wire({"address": "1 Main Street", "head_name": "Tashi"}, **overrides)


async def entries(node: Node, **params: Any) -> dict[str, Any]:
    response = await node.client.get("/api/v1/sync/quarantine", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def held(node: Node, record: dict[str, Any]) -> bool:
    return (await node.client.get(f"/api/v1/records/{record['id']}")).status_code == 200


async def test_a_resent_batch_adds_no_second_entry(pair: Cluster) -> None:
    parent, child = pair.nodes[TOWNSHIP], pair.nodes[VILLAGE]
    future = household(schema_version=FUTURE)
    for _ in range(3):  # the ack was lost twice: the same batch arrives three times
        answer = await push(parent, child, records=[future])
        assert answer.status_code == 200 and answer.json()["quarantined"] == 1
    listed = await entries(parent)
    assert listed["total"] == 1 and len(listed["items"]) == 1  # on main: 3


async def test_entries_are_applied_again_when_the_node_starts_after_an_upgrade(
    pair: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent, child = pair.nodes[TOWNSHIP], pair.nodes[VILLAGE]
    future = household(schema_version=FUTURE)
    assert (await push(parent, child, records=[future])).json()["quarantined"] == 1
    assert not await held(parent, future)
    monkeypatch.setattr(receive, "SCHEMA_VERSION", FUTURE)  # the node is upgraded...
    parent = await pair.restart(TOWNSHIP)  # ...and started again
    assert await held(parent, future)
    assert (await entries(parent))["total"] == 0
    assert (await parent.summary(VILLAGE))["counts"] == {"household": 1}


async def test_a_tombstone_of_a_newer_schema_still_deletes(pair: Cluster) -> None:
    parent, child = pair.nodes[TOWNSHIP], pair.nodes[VILLAGE]
    record = household()
    assert (await push(parent, child, records=[record])).json()["applied"] == 1
    tombstone = wire(
        {},
        id=record["id"],
        deleted=True,
        schema_version=FUTURE,
        version=f"{(1 << 50) + 1:016x}.{VILLAGE}",
    )
    answer = await push(parent, child, records=[tombstone], since=1, until=2, head=2)
    assert answer.status_code == 200 and answer.json()["applied"] == 1  # on main: quarantined
    assert not await held(parent, record)
    assert (await parent.summary(VILLAGE))["counts"] == {}


async def test_the_http_listing_pages_with_offset_and_limit(pair: Cluster) -> None:
    parent, child = pair.nodes[TOWNSHIP], pair.nodes[VILLAGE]
    records = [household(kind=f"future_{i}") for i in range(3)]
    assert (await push(parent, child, records=records)).json()["quarantined"] == 3
    page = await entries(parent, offset=1, limit=1)
    assert page["total"] == 3 and [i["record_id"] for i in page["items"]] == [records[1]["id"]]
    bad = await parent.client.get("/api/v1/sync/quarantine", params={"limit": 0})
    assert bad.status_code == 422


async def test_the_operator_lists_retries_and_releases_entries(
    pair: Cluster, tmp_path: Path
) -> None:
    parent, child = pair.nodes[TOWNSHIP], pair.nodes[VILLAGE]
    unknown = household(kind="future_kind")
    assert (await push(parent, child, records=[unknown])).json()["quarantined"] == 1
    config = tmp_path / "township.toml"
    data_dir = parent.settings.data_dir
    config.write_text(f'code = "{TOWNSHIP}"\ndata_dir = "{data_dir}"\n')
    listed = run("--config", config, "quarantine", "list")
    assert listed.exit_code == 0, listed.output
    assert "共 1 条被隔离的记录" in listed.output
    as_json = run("--config", config, "quarantine", "list", "--json")
    assert "unknown kind" in json.loads(as_json.output)["items"][0]["reason"]
    retried = run("--config", config, "quarantine", "retry", "--json")
    assert retried.exit_code == 1, retried.output  # still not understood: it stays
    entry = (await entries(parent))["items"][0]["id"]
    released = run("--config", config, "quarantine", "release", str(entry), "--actor", "ops")
    assert released.exit_code == 0, released.output
    assert "已从隔离区移除 1 条记录" in released.output
    assert (await entries(parent))["total"] == 0
    assert run("--config", config, "quarantine", "list").output.startswith("隔离区为空")
