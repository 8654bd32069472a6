"""Rough edges of input (issue 17): encoding problems in one bulk row reject that row only, and
an error never echoes a huge value back whole."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from node.app import create_app
from node.settings import Settings
from tests.access_support import operator_client
from tests.factories import household, person
from tests.lifespan import running

VILLAGE = "632322101201"
MEGABYTE_CODE = "6" * 1_000_000


async def test_lone_surrogate_escape_in_one_row_rejects_that_row_only(
    node_client: httpx.AsyncClient,
) -> None:
    good = json.dumps(person()).encode()
    bad = json.dumps(person()).replace('"name": "', '"name": "\\ud800').encode()
    body = b"[" + good + b"," + bad + b",\n" + json.dumps(household()).encode() + b"]"
    response = await node_client.post(
        "/api/v1/records/bulk", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 2
    [rejected] = result["rejected"]
    assert rejected["index"] == 1 and "data.name" in rejected["error"]
    assert "surrogate" in rejected["error"]


async def test_invalid_utf8_in_one_row_rejects_that_row_only(
    node_client: httpx.AsyncClient,
) -> None:
    good = json.dumps(person(), ensure_ascii=False).encode()
    bad = json.dumps(household(address="Haus \u00e9")).encode().replace(b"\\u00e9", b"\xe9")
    body = b"[" + bad + b", " + good + b"]"
    response = await node_client.post(
        "/api/v1/records/bulk", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 1
    assert [r["index"] for r in result["rejected"]] == [0]
    assert "UTF-8" in result["rejected"][0]["error"]


async def test_nan_in_one_ndjson_line_names_the_field(node_client: httpx.AsyncClient) -> None:
    lines = [
        json.dumps(person()),
        json.dumps(household() | {"data": household()["data"] | {"member_count": float("nan")}}),
    ]
    response = await node_client.post(
        "/api/v1/records/bulk",
        content="\n".join(lines).encode(),
        headers={"content-type": "application/x-ndjson"},
    )
    result = response.json()
    assert result["accepted"] == 1
    assert "data.member_count" in result["rejected"][0]["error"]


async def test_a_broken_array_is_still_one_422(node_client: httpx.AsyncClient) -> None:
    response = await node_client.post(
        "/api/v1/records/bulk",
        content=b'[{"kind": "person", "unit": "63',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "body is not JSON"


async def test_a_megabyte_unit_code_is_not_echoed_back(node_client: httpx.AsyncClient) -> None:
    body = person() | {"unit": MEGABYTE_CODE}
    single = await node_client.post("/api/v1/records", json=body)
    assert single.status_code == 422
    assert len(single.content) < 2000, len(single.content)
    assert "666666" in single.text  # a prefix is quoted, so the operator sees what it was
    bulk = await node_client.post("/api/v1/records/bulk", json=[body])
    assert bulk.status_code == 200
    assert len(bulk.content) < 2000, len(bulk.content)
    listed = await node_client.get("/api/v1/records", params={"unit": MEGABYTE_CODE[:30_000]})
    assert listed.status_code == 422 and len(listed.content) < 2000


async def test_a_megabyte_field_value_is_quoted_as_a_short_prefix(
    node_client: httpx.AsyncClient,
) -> None:
    body = person() | {"data": person()["data"] | {"phone": "1" * 1_000_000}}
    response = await node_client.post("/api/v1/records", json=body)
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "data.phone"
    assert (
        "1111111111" in detail["reason"] and "1,000,002 characters" in detail["reason"]
    )  # with its quotes
    assert len(response.content) < 2000


async def test_a_body_over_the_limit_is_413_declared_or_chunked(tmp_path: Path) -> None:
    settings = Settings(code=VILLAGE, data_dir=tmp_path, max_body_bytes=64 * 1024)
    app = create_app(settings, run_replicator=False)
    big = json.dumps([person() for _ in range(600)]).encode()
    assert len(big) > 64 * 1024

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    async with running(app), operator_client(app) as client:
        for content in (big, chunks()):
            answer = await client.post(
                "/api/v1/records/bulk",
                content=content,
                headers={"content-type": "application/json"},
            )
            assert answer.status_code == 413, answer.text
            assert answer.json()["error"]["code"] == "too_large"
        assert (await client.get("/api/v1/records")).json()["items"] == []
        small = await client.post("/api/v1/records/bulk", json=[person()])
        assert small.status_code == 200
