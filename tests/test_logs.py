"""Structured logs: JSON lines parsed, one request id per request and across a push, and no
personal data in any line whatever the request did."""

import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from federation.observe import current_request_id
from node import logs
from node.sync import repository as sync_repo
from schemas.sync import PROTOCOL_VERSION
from tests.cluster import Cluster, Node
from tests.conftest import TOWNSHIP, VILLAGE
from tests.factories import person


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every line as JSON (a line that is not JSON fails the test)."""
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def requests(self, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.lines()
            if e.get("event") == "request" and all(e.get(k) == v for k, v in match.items())
        ]


@pytest.fixture
def captured() -> Iterator[Captured]:
    """The process's logs, as `tiersync serve` configures them (JSON, everything from debug)."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = logs.configure("json", "debug", stream=stream)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()


@pytest.fixture
async def pair(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    await cluster.add(TOWNSHIP, "Kangyang Town")
    await cluster.add(VILLAGE, "Dongmen Village", parent=TOWNSHIP)
    yield cluster  # type: ignore[misc]
    await cluster.close()


def test_auto_is_console_on_a_terminal_and_json_elsewhere() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.resolve("auto", Tty()) == "console"
    assert logs.resolve("auto", io.StringIO()) == "json"
    assert logs.resolve("console", io.StringIO()) == "console"


def test_console_lines_read_as_text() -> None:
    stream = io.StringIO()
    handler = logs.configure("console", "info", stream=stream)
    try:
        structlog.get_logger("tiersync.http").info("request", route="/healthz", status=200)
        logging.getLogger("uvicorn.error").info("Started server process")
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()
    # Only this test's two lines: a node an earlier test left running may log meanwhile.
    lines = stream.getvalue().splitlines()
    first = next(line for line in lines if "route=/healthz" in line)
    second = next(line for line in lines if "Started server process" in line)
    assert "request" in first and "route=/healthz" in first and "status=200" in first
    assert not first.lstrip().startswith("{")
    assert "Started server process" in second


async def test_one_request_id_per_request_echoed_and_logged(
    pair: Cluster, captured: Captured
) -> None:
    township = pair.nodes[TOWNSHIP]
    given = await township.client.get(
        "/api/v1/views/summary", headers={"X-Request-ID": "ab-12345678"}
    )
    assert given.headers["x-request-id"] == "ab-12345678"
    made = await township.client.get("/api/v1/views/summary")
    for bad in ("has spaces in it", "x" * 200, "short", "a/b\\c-12345678"):
        refused = await township.client.get("/api/v1/views/summary", headers={"X-Request-ID": bad})
        assert refused.headers["x-request-id"] != bad
        assert len(refused.headers["x-request-id"]) == 32
    lines = captured.requests(route="/api/v1/views/summary")
    assert [e["request_id"] for e in lines[:2]] == ["ab-12345678", made.headers["x-request-id"]]
    assert len({e["request_id"] for e in lines}) == len(lines) == 6
    first = lines[0]
    assert first["node"] == TOWNSHIP and first["method"] == "GET" and first["status"] == 200
    assert first["level"] == "info" and first["logger"] == "tiersync.http"
    assert first["timestamp"].endswith("Z") and isinstance(first["ms"], float)


async def test_one_id_spans_the_child_and_its_parent(pair: Cluster, captured: Captured) -> None:
    village = pair.nodes[VILLAGE]
    await village.write(person())
    token = current_request_id.set("trace-0001-abcdef")  # as while serving a request
    try:
        await village.replicator.run_once()
    finally:
        current_request_id.reset(token)
    pushes = captured.requests(route="/api/v1/sync/push")
    assert [(e["node"], e["request_id"]) for e in pushes] == [(TOWNSHIP, "trace-0001-abcdef")]
    await village.replicator.run_once(heartbeat=True)  # from the background: an id of its own
    ids = [e["request_id"] for e in captured.requests(route="/api/v1/sync/push")]
    assert len(ids) == 2 and len(ids[1]) == 32


async def raw_push(parent: Node, child: Node, since: int, records: list[Any]) -> int:
    batch = {
        "protocol": PROTOCOL_VERSION,
        "source": child.code,
        "since": since,
        "until": since + 1,
        "head": since + 1,
        "records": records,
        "units": [],
    }
    response = await parent.client.post("/api/v1/sync/push", json=batch, auth=child.as_child())
    return response.status_code


async def test_no_personal_data_in_any_log_line(pair: Cluster, captured: Captured) -> None:
    village, township = pair.nodes[VILLAGE], pair.nodes[TOWNSHIP]
    secrets: list[str] = []

    def resident(n: int) -> dict[str, Any]:
        body = person()
        body["data"] |= {"name": f"卓玛{n}措", "phone": f"1390971{n:04d}"}
        secrets.extend([body["data"]["id_number"], body["data"]["name"], body["data"]["phone"]])
        return body

    written = [await village.write(resident(n)) for n in range(3)]
    bad = resident(3)
    bad["data"]["id_number"] = wrong_check(bad["data"]["id_number"])
    secrets.append(bad["data"]["id_number"])
    assert (await village.client.post("/api/v1/records", json=bad)).status_code == 422
    bulk = await village.client.post("/api/v1/records/bulk", json=[resident(4), bad, {"x": 1}])
    assert bulk.json()["accepted"] == 1
    await village.client.put(f"/api/v1/records/{written[0]['id']}", json=resident(5))
    await village.client.get(f"/api/v1/records/{written[1]['id']}")
    await village.client.get("/api/v1/records", params={"kind": "person"})
    await village.replicator.run_once()
    await township.client.get(f"/api/v1/records/{written[2]['id']}")
    await township.client.get("/metrics")
    with township.ctx.db.read() as conn:
        since = sync_repo.child_cursor(conn, VILLAGE)
    future = {
        "id": str(uuid.uuid4()),
        "kind": "person",
        "unit": VILLAGE,
        "data": resident(6)["data"],
        "version": f"{1 << 50:016x}.{VILLAGE}",
        "deleted": False,
        "schema_version": 99,  # quarantined at the township, with its reason
    }
    assert await raw_push(township, village, since, [future]) == 200
    # What a developer might log by mistake is caught by the scrubber.
    mistake = logging.getLogger("tiersync.test")
    mistake.error("failed for %s, call %s", secrets[0], secrets[2])
    try:
        raise ValueError(f"bad row {secrets[3]}")
    except ValueError:
        mistake.exception("import failed")

    assert len(captured.lines()) > 10  # and every line is JSON
    assert captured.requests(route="/api/v1/records/bulk", status=200)
    assert captured.requests(route="/api/v1/sync/push", node=TOWNSHIP)
    assert [s for s in secrets if s in captured.text] == []
    assert "[id-number]" in captured.text and "[phone]" in captured.text


def wrong_check(id_number: str) -> str:
    """The same ID number with a check character that does not match."""
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
