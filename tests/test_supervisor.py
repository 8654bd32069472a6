"""Issue 10, defect 1: no background task dies silently. A local database error or a parent's
200 that is not an ack leaves the replicator running (restarted with backoff), visible as
failing in /readyz and `tiersync status`, and records flow again once the fault clears."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from node.ops.status import node_status
from node.supervisor import Supervisor, read_published
from node.sync.outbox import SqlChangeStore
from tests.cluster import Cluster, Node
from tests.factories import person

TOWNSHIP, VILLAGE = "632322101", "632322101201"


def locked() -> OperationalError:
    return OperationalError("SELECT …", {}, Exception("database is locked"))


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path, live=True)
    try:
        await cluster.add(TOWNSHIP, "Kangyang Town")
        await cluster.add(VILLAGE, "Dongmen", parent=TOWNSHIP, push_delay_ms=5, retry_max_s=0.2)
        yield cluster
    finally:
        await cluster.close()


async def held_at(node: Node, record_id: str) -> bool:
    return (await node.client.get(f"/api/v1/records/{record_id}")).status_code == 200


def replicator_state(node: Node) -> Any:
    return next(s for s in node.ctx.supervisor.states() if s.name == "replicator")


async def test_a_local_database_error_does_not_stop_the_replicator(
    pair: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    township, village = pair.nodes[TOWNSHIP], pair.nodes[VILLAGE]
    real = SqlChangeStore.read_batch
    faults = {"left": 3}

    def flaky(self: SqlChangeStore, *args: Any, **kwargs: Any) -> Any:
        if faults["left"] > 0:
            faults["left"] -= 1
            raise locked()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SqlChangeStore, "read_batch", flaky)
    record = await village.write(person(VILLAGE))  # answered 201 while the reads fail
    await wait_for(lambda: held_at(township, record["id"]), 10, "the record at the township")
    await wait_for(lambda: _is(village, "running"), 5, "the replicator running")
    state = replicator_state(village)
    assert state.restarts == 3
    assert state.last_error.startswith("OperationalError")
    assert state.failing_since is None and state.last_ok


async def test_a_failing_task_shows_in_readyz_and_status_with_its_duration(
    pair: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    township, village = pair.nodes[TOWNSHIP], pair.nodes[VILLAGE]
    failing = {"on": True}
    real = SqlChangeStore.read_batch

    def broken(self: SqlChangeStore, *args: Any, **kwargs: Any) -> Any:
        if failing["on"]:
            raise locked()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SqlChangeStore, "read_batch", broken)
    record = await village.write(person(VILLAGE))
    await wait_for(lambda: _is(village, "failing"), 10, "the replicator failing")
    village.ctx.supervisor.unready_after_s = 0.0  # failing "too long" at once

    ready = await village.client.get("/readyz")
    assert ready.status_code == 503
    assert "replicator" in ready.json()["error"]["message"] and "database is locked" in ready.text

    async def status_shows_it() -> bool:
        report = node_status(village.ctx)
        return not report.ok and any("replicator" in p for p in report.problems)

    await wait_for(status_shows_it, 15, "status naming the failing replicator")
    report = node_status(village.ctx)
    assert report.tasks is not None and report.tasks.serving
    task = next(t for t in report.tasks.tasks if t.name == "replicator")
    assert task.state == "failing" and task.failing_s is not None and task.restarts >= 1

    failing["on"] = False  # the fault clears: records flow, the node is ready again
    await wait_for(lambda: held_at(township, record["id"]), 10, "the record at the township")
    await wait_for(lambda: _is(village, "running"), 5, "the replicator running")
    assert (await village.client.get("/readyz")).status_code == 200


async def _is(node: Node, state: str) -> bool:
    return bool(replicator_state(node).state == state)


class NotAnAck(httpx.AsyncBaseTransport):
    """In front of the router: the first `times` pushes are answered 200 with a proxy's page."""

    def __init__(self, inner: httpx.AsyncBaseTransport, times: int) -> None:
        self.inner, self.times = inner, times
        self.apps = getattr(inner, "apps", {})  # the cluster registers nodes through it

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sync/push") and self.times > 0:
            self.times -= 1
            await self.inner.handle_async_request(request)  # the parent did get it
            return httpx.Response(200, content=b"<html>captive portal</html>", request=request)
        return await self.inner.handle_async_request(request)


async def test_a_200_that_is_not_an_ack_is_a_protocol_error_retried(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, live=True)
    try:
        await cluster.add(TOWNSHIP, "Kangyang Town")
        router = cluster.router
        cluster.router = NotAnAck(router, times=2)  # type: ignore[assignment]
        village = await cluster.add(
            VILLAGE, "Dongmen", parent=TOWNSHIP, push_delay_ms=5, retry_max_s=0.2
        )
        cluster.router = router
        township = cluster.nodes[TOWNSHIP]
        await wait_for(lambda: _is(village, "failing"), 10, "the replicator failing")
        state = replicator_state(village)
        assert "ProtocolError" in (state.last_error or "")
        assert "not a PushAck" in (village.replicator.last_error or "")
        record = await village.write(person(VILLAGE))
        await wait_for(lambda: held_at(township, record["id"]), 10, "the record at the township")
        await wait_for(lambda: _is(village, "running"), 5, "the replicator running")
    finally:
        await cluster.close()


async def test_the_supervisor_restarts_with_capped_backoff_and_counts_dead(
    tmp_path: Path,
) -> None:
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    supervisor = Supervisor(
        now=lambda: clock[0],
        sleep=sleep,
        retry_min_s=1.0,
        retry_max_s=8.0,
        dead_after_s=30.0,
        state_file=tmp_path / "tasks.json",
    )
    runs = {"n": 0}

    async def always_fails() -> None:
        runs["n"] += 1
        raise ValueError("bad thing")

    stop_publishing = supervisor.start_publishing()
    stop = supervisor.spawn("worker", always_fails)
    while runs["n"] < 12:
        await asyncio.sleep(0)
    state = supervisor.states()[0]
    assert state.restarts >= 11 and state.last_error == "ValueError: bad thing"
    assert max(slept) <= 8.0 and slept[0] <= 1.0 and len(set(slept)) > 1  # capped, jittered
    assert state.state == "dead"  # failing for longer than dead_after_s (simulated time)
    assert supervisor.problems() == ["后台任务 worker 已停止工作：ValueError: bad thing"]
    await stop()
    assert supervisor.states()[0].state == "stopped"
    await stop_publishing()
    published = read_published(tmp_path / "tasks.json")
    assert published is not None and [t.state for t in published.tasks] == ["stopped"]
