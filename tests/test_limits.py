"""Bounded, hostile-proof input on the links and the local API (docs/protocol.md, Limits)."""

import time
import tracemalloc
import uuid
from typing import Any

import orjson
import zstandard

from schemas.sync import PROTOCOL_VERSION
from tests.cluster import Cluster, Node
from tests.conftest import TOWNSHIP, VILLAGE
from tests.factories import person
from tests.test_sync_protocol import raw_push, wire_record

GIB = 1 << 30


def zstd_bomb(size: int = GIB) -> bytes:
    """A zstd frame declaring (and holding) `size` zero bytes, made without holding them."""
    compressor = zstandard.ZstdCompressor(level=3, write_content_size=True).compressobj(size=size)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()


def push_headers(child: Node, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {child.settings.parent_token}"} | extra


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"x": value}
    return value


async def test_a_zstd_bomb_push_is_413_quickly_and_without_the_memory(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    bomb = zstd_bomb()
    assert len(bomb) <= 48 * 1024  # ~32 KiB on the wire, 1 GiB declared
    assert zstandard.frame_content_size(bomb) == GIB
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = await township.client.post(
            "/api/v1/sync/push",
            content=bomb,
            headers=push_headers(village, **{"content-encoding": "zstd"}),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "too_large"
    assert "decompressed" in response.json()["error"]["message"]
    limit = township.settings.max_body_bytes
    assert peak < 3 * limit  # never the gigabyte: at most the cap, plus copies of it
    assert elapsed < 30
    # The operator exchanges read bodies through the same bounded decoder.
    exchange = await township.client.post(
        "/api/v1/ops/digest/nodes",
        content=bomb,
        headers=push_headers(village, **{"content-encoding": "zstd"}),
    )
    assert exchange.status_code == 413, exchange.text
    # A well-formed compressed push is still read.
    good = zstandard.ZstdCompressor().compress(
        orjson.dumps(
            {
                "protocol": PROTOCOL_VERSION,
                "source": VILLAGE,
                "since": 0,
                "until": 1,
                "head": 1,
                "records": [wire_record(VILLAGE)],
            }
        )
    )
    ok = await township.client.post(
        "/api/v1/sync/push",
        content=good,
        headers=push_headers(village, **{"content-encoding": "zstd"}),
    )
    assert ok.status_code == 200, ok.text


async def test_a_push_nested_too_deep_quarantines_that_record_naming_the_field(
    chain: Cluster,
) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    deep, good = wire_record(VILLAGE), wire_record(VILLAGE)
    deep["data"] = deep["data"] | {"notes": nested(40)}
    # One record's data is that record's fault: it is set aside, the rest applied (protocol.md).
    response = await raw_push(township, village, [deep, good])
    assert response.status_code == 200, response.text
    assert (response.json()["applied"], response.json()["quarantined"]) == (1, 1)
    [entry] = (await township.client.get("/api/v1/sync/quarantine")).json()["items"]
    assert entry["record_id"] == deep["id"]
    assert entry["reason"].startswith("records.0: data.notes.x")
    assert "nested deeper than 32" in entry["reason"]
    assert (await township.client.get(f"/api/v1/records/{deep['id']}")).status_code == 404
    assert (await township.client.get(f"/api/v1/records/{good['id']}")).status_code == 200
    # The envelope is the batch's fault: a registry entry that is not one is 422, nothing stored.
    odd = wire_record(VILLAGE)
    units = [{"code": VILLAGE, "name": nested(40), "hlc": 1}]
    envelope = await raw_push(township, village, [odd], since=1, until=2, head=2, units=units)
    assert envelope.status_code == 422, envelope.text
    assert envelope.json()["error"]["details"][0]["field"].startswith("units.0.name")
    assert (await township.client.get(f"/api/v1/records/{odd['id']}")).status_code == 404
    # The local API refuses the same, naming the field.
    body = person() | {"data": person()["data"] | {"notes": nested(40)}}
    local = await village.client.post("/api/v1/records", json=body)
    assert local.status_code == 422, local.text
    assert "nested deeper" in local.text


async def test_too_many_items_in_a_push_or_a_bulk_is_refused_naming_it(chain: Cluster) -> None:
    village, township = chain.nodes[VILLAGE], chain.nodes[TOWNSHIP]
    record = wire_record(VILLAGE)
    many = [record | {"id": str(uuid.uuid4())} for _ in range(10_001)]
    response = await raw_push(township, village, many)
    assert response.status_code == 422, response.text[:500]
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert fields == ["records"]
    assert (await township.client.get(f"/api/v1/records/{many[0]['id']}")).status_code == 404
    rows = [person() for _ in range(10_001)]
    bulk = await village.client.post("/api/v1/records/bulk", json=rows)
    assert bulk.status_code == 413, bulk.text[:500]
    assert "10,000" in bulk.json()["error"]["message"]
    assert (await village.client.get("/api/v1/records")).json()["items"] == []


async def test_a_bulk_row_nested_past_the_parsers_limit_is_that_rows_rejection(
    chain: Cluster,
) -> None:
    village = chain.nodes[VILLAGE]
    row = b'{"kind": "person", "unit": "' + VILLAGE.encode() + b'", "data": '
    row += b"[" * 5000 + b"]" * 5000 + b"}"
    good = orjson.dumps(person())
    response = await village.client.post(
        "/api/v1/records/bulk",
        content=b"[" + good + b"," + row + b"]",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text[:500]
    result = response.json()
    assert result["accepted"] == 1 and [r["index"] for r in result["rejected"]] == [1]


def test_decoding_is_bounded_whatever_the_frame_declares() -> None:
    from federation.codec import BodyTooLarge, decode_body

    bomb = zstd_bomb(64 << 20)
    started = time.monotonic()
    try:
        decode_body(bomb, "zstd", max_size=1 << 20)
    except BodyTooLarge as exc:
        assert "1,048,576" in str(exc)
    else:
        raise AssertionError("a 64 MiB frame decoded under a 1 MiB cap")
    assert time.monotonic() - started < 5
    assert decode_body(zstandard.ZstdCompressor().compress(b"{}"), "zstd", max_size=2) == b"{}"
