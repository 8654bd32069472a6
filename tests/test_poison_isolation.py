"""Issue 10, defect 2, the parent's half: a record the parent cannot store is quarantined with
its reason and the rest of its batch applied and acknowledged, in one transaction; the push is
never answered 500 (or 403) for ever because of one record. Raw pushes, both engines."""

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from node.db import WriteTxn
from node.ops.status import node_status
from tests.cluster import Cluster, Node
from tests.test_edge_poisons import TOWNSHIP, VILLAGE, push, wire


def refuse_when_stored(node: Node, record: dict[str, Any]) -> None:
    """A write hook at `node` that fails storing `record`, as an engine refuses a value or a
    roll-up overflows."""

    def refuse(txn: WriteTxn, changes: Sequence[Any]) -> None:
        if any(str(version.id) == record["id"] for version, _head in changes):
            raise ArithmeticError("roll-up overflow")

    node.ctx.db.write_hooks = (*node.ctx.db.write_hooks, refuse)


@pytest.fixture
async def parent_child(
    tmp_path: Path, database_url_factory: Callable[[str], str]
) -> AsyncIterator[tuple[Node, Node]]:
    cluster = Cluster(tmp_path, database_url=database_url_factory)
    try:
        parent = await cluster.add(TOWNSHIP, "Kangyang Town")
        child = await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
        yield parent, child
    finally:
        await cluster.close()


def household(**overrides: Any) -> dict[str, Any]:
    return wire({"address": "1 Main Street", "head_name": "Tashi"}, **overrides)


async def quarantine(node: Node) -> list[dict[str, Any]]:
    response = await node.client.get("/api/v1/sync/quarantine")
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def held(node: Node, record: dict[str, Any]) -> bool:
    return (await node.client.get(f"/api/v1/records/{record['id']}")).status_code == 200


async def test_a_version_without_origin_is_quarantined_not_403_for_the_batch(
    parent_child: tuple[Node, Node],
) -> None:
    parent, child = parent_child
    bad, good = household(version=f"{1 << 50:016x}"), household()
    answer = await push(parent, child, records=[bad, good])
    assert answer.status_code == 200, answer.text  # on main: 403 for the whole batch
    assert (answer.json()["applied"], answer.json()["quarantined"]) == (1, 1)
    assert await held(parent, good) and not await held(parent, bad)
    [item] = await quarantine(parent)
    assert item["record_id"] == bad["id"] and "not of the form" in item["reason"]


async def test_a_record_the_parent_fails_to_store_is_quarantined_and_the_rest_acked(
    parent_child: tuple[Node, Node],
) -> None:
    """Whatever fails while storing one record (here a write hook refusing it, as an engine
    refuses a value or a roll-up overflows): that record is set aside, the others stored."""
    parent, child = parent_child
    poison = household()
    refuse_when_stored(parent, poison)
    before, after = household(), household()
    answer = await push(parent, child, records=[before, poison, after], until=3, head=3)
    assert answer.status_code == 200, answer.text  # on main: 500, for ever
    body = answer.json()
    assert (body["applied"], body["quarantined"], body["cursor"]) == (2, 1, 3)
    assert await held(parent, before) and await held(parent, after)
    assert not await held(parent, poison)
    [item] = await quarantine(parent)
    assert item["record_id"] == poison["id"]
    assert "ArithmeticError: roll-up overflow" in item["reason"]
    assert (await parent.summary(VILLAGE))["counts"] == {"household": 2}
    assert any("被隔离" in p for p in node_status(parent.ctx).problems)
    # The child goes on: the next batch is applied normally.
    later = household()
    answer = await push(parent, child, records=[later], since=3, until=4, head=4)
    assert answer.status_code == 200 and answer.json()["applied"] == 1


async def test_a_batch_that_stores_cleanly_takes_no_savepoint(
    parent_child: tuple[Node, Node],
) -> None:
    """The common case pays nothing for the isolation above: a batch without a poison is
    stored in the push's transaction as it is. (Under a savepoint, SQLite copies every page
    the batch touches into a sub-journal, a temporary file past 64 KiB: a catch-up of 1,000
    records wrote 1,500 pages there.) A batch that fails is stored again record by record,
    each under its own savepoint."""
    parent, child = parent_child
    savepoints: list[str] = []

    def count(_conn: Any, name: str) -> None:
        savepoints.append(name)

    event.listen(parent.ctx.db.engine, "savepoint", count)
    try:
        clean = [household() for _ in range(20)]
        answer = await push(parent, child, records=clean, until=20, head=20)
        assert answer.status_code == 200, answer.text
        assert answer.json()["applied"] == 20
        assert savepoints == []  # on main: one per batch
        poison = household()
        refuse_when_stored(parent, poison)
        answer = await push(
            parent, child, records=[household(), poison], since=20, until=22, head=22
        )
        assert (answer.json()["applied"], answer.json()["quarantined"]) == (1, 1)
        assert len(savepoints) == 2  # the retry, one per record
    finally:
        event.remove(parent.ctx.db.engine, "savepoint", count)


async def test_a_record_without_a_usable_id_is_quarantined_once_per_content(
    parent_child: tuple[Node, Node],
) -> None:
    parent, child = parent_child
    nameless = household(id="not-a-uuid")
    answer = await push(parent, child, records=[nameless, household()])
    assert answer.status_code == 200, answer.text
    assert answer.json()["quarantined"] == 1
    [item] = await quarantine(parent)
    assert uuid.UUID(item["record_id"])  # derived from the record, stable over resends
    assert item["reason"].startswith("records.0: id")
