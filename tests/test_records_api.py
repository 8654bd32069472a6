"""The local records API (CONTRACT.md, Records) on SQLite and PostgreSQL."""

import uuid

import httpx
import pytest

from node.migrate import head_revisions
from tests.factories import household, person

VILLAGE = "632322101201"
GRID = "632322101201003"


async def test_create_get_put_delete_roundtrip(node_client: httpx.AsyncClient) -> None:
    created = await node_client.post("/api/v1/records", json=person())
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["kind"] == "person" and record["unit"] == VILLAGE
    assert record["origin"] == VILLAGE and record["deleted"] is False

    got = await node_client.get(f"/api/v1/records/{record['id']}")
    assert got.status_code == 200 and got.json()["data"] == record["data"]

    changed = dict(person()["data"], name="New Name")
    replaced = await node_client.put(
        f"/api/v1/records/{record['id']}", json={"kind": "person", "unit": GRID, "data": changed}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["data"]["name"] == "New Name"
    assert replaced.json()["version"] > record["version"]

    assert (await node_client.delete(f"/api/v1/records/{record['id']}")).status_code == 204
    assert (await node_client.get(f"/api/v1/records/{record['id']}")).status_code == 404
    assert (await node_client.delete(f"/api/v1/records/{record['id']}")).status_code == 404


async def test_put_creates_with_201_and_revives_deleted(node_client: httpx.AsyncClient) -> None:
    rid = str(uuid.uuid4())
    first = await node_client.put(f"/api/v1/records/{rid}", json=household())
    assert first.status_code == 201 and first.json()["id"] == rid
    assert (await node_client.put(f"/api/v1/records/{rid}", json=household())).status_code == 200
    await node_client.delete(f"/api/v1/records/{rid}")
    assert (await node_client.put(f"/api/v1/records/{rid}", json=household())).status_code == 201


async def test_outside_jurisdiction_is_403_and_stores_nothing(
    node_client: httpx.AsyncClient,
) -> None:
    response = await node_client.post("/api/v1/records", json=person(unit="632322101202"))
    assert response.status_code == 403
    assert response.json()["error"]["details"][0]["field"] == "unit"
    listed = await node_client.get("/api/v1/records", params={"unit": "632322"})
    assert (response.status_code == 403 and listed.status_code == 403) or not listed.json()["items"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"id_number": "632322198807150036"}, "data.id_number"),
        ({"sex": "unknown"}, "data.sex"),
        ({"birth_date": "2999-01-01"}, "data.birth_date"),
        ({"surprise": 1}, "data.surprise"),
    ],
)
async def test_invalid_data_is_422_naming_the_field(
    node_client: httpx.AsyncClient, patch: dict[str, object], field: str
) -> None:
    body = person()
    body["data"].update(patch)
    response = await node_client.post("/api/v1/records", json=body)
    assert response.status_code == 422, response.text
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert field in fields
    summary = (await node_client.get("/api/v1/views/summary")).json()
    assert summary["counts"] == {}


@pytest.mark.parametrize(
    "unit", ["６３２３２２１０１２０１", "63232210120A", "6323.2210120", "63232210120"]
)
async def test_bad_unit_codes_are_422(node_client: httpx.AsyncClient, unit: str) -> None:
    response = await node_client.post("/api/v1/records", json=person(unit=unit))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "unit"


async def test_unknown_envelope_field_and_duplicate_id(node_client: httpx.AsyncClient) -> None:
    body = person() | {"colour": "red"}
    assert (await node_client.post("/api/v1/records", json=body)).status_code == 422
    rid = str(uuid.uuid4())
    first = await node_client.post("/api/v1/records", json=household() | {"id": rid})
    assert first.status_code == 201
    again = await node_client.post("/api/v1/records", json=household() | {"id": rid})
    assert again.status_code == 409
    other_kind = await node_client.put(f"/api/v1/records/{rid}", json=person())
    assert other_kind.status_code == 409


async def test_list_subtree_filter_and_cursor_pagination(node_client: httpx.AsyncClient) -> None:
    ids = set()
    for i in range(7):
        unit = GRID if i % 2 else VILLAGE
        ids.add((await node_client.post("/api/v1/records", json=person(unit=unit))).json()["id"])
    await node_client.post("/api/v1/records", json=household())
    seen: list[str] = []
    cursor = None
    while True:
        params = {"kind": "person", "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await node_client.get("/api/v1/records", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and set(seen) == ids
    grid_only = (await node_client.get("/api/v1/records", params={"unit": GRID})).json()
    assert len(grid_only["items"]) == 3
    bad = await node_client.get("/api/v1/records", params={"cursor": "%%%"})
    assert bad.status_code == 422


async def test_bulk_stores_valid_rows_and_lists_bad_ones(node_client: httpx.AsyncClient) -> None:
    rows = [person(), person(unit="632322101202"), {"kind": "person"}, household()]
    good = rows[0]["data"]["id_number"]
    rows[0]["data"]["id_number"] = good[:-1] + ("1" if good[-1] == "0" else "0")
    result = (await node_client.post("/api/v1/records/bulk", json=rows)).json()
    assert result["accepted"] == 1
    assert [r["index"] for r in result["rejected"]] == [0, 1, 2]
    assert "id_number" in result["rejected"][0]["error"]
    summary = (await node_client.get("/api/v1/views/summary")).json()
    assert summary["counts"] == {"household": 1}


async def test_bulk_ndjson_with_unparsable_line(node_client: httpx.AsyncClient) -> None:
    import orjson

    lines = [orjson.dumps(person()), b"{not json", orjson.dumps(household())]
    response = await node_client.post(
        "/api/v1/records/bulk",
        content=b"\n".join(lines),
        headers={"content-type": "application/x-ndjson"},
    )
    result = response.json()
    assert result["accepted"] == 2
    assert result["rejected"][0]["index"] == 1


async def test_summary_counts_subtree_and_children(node_client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await node_client.post("/api/v1/records", json=person(unit=GRID))
    await node_client.post("/api/v1/records", json=person())
    doomed = (await node_client.post("/api/v1/records", json=household(unit=GRID))).json()
    await node_client.delete(f"/api/v1/records/{doomed['id']}")
    summary = (await node_client.get("/api/v1/views/summary")).json()
    assert summary["unit"] == VILLAGE
    assert summary["counts"] == {"person": 4}
    children = {c["unit"]: c["counts"] for c in summary["children"]}
    assert children == {GRID: {"person": 3}}
    outside = await node_client.get("/api/v1/views/summary", params={"unit": "632322101202"})
    assert outside.status_code == 403


async def test_healthz_and_readyz(node_client: httpx.AsyncClient) -> None:
    assert (await node_client.get("/healthz")).status_code == 200
    ready = await node_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["migrations"] == sorted(head_revisions())


@pytest.mark.parametrize("kind", ["directive", "receipt"])
async def test_federation_kinds_are_refused_on_the_records_api(
    node_client: httpx.AsyncClient, kind: str
) -> None:
    response = await node_client.post(
        "/api/v1/records", json={"kind": kind, "unit": VILLAGE, "data": {}}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "kind"


async def test_generated_ids_are_time_ordered_uuid7(node_client: httpx.AsyncClient) -> None:
    ids = [uuid.UUID((await node_client.post("/api/v1/records", json=person())).json()["id"])]
    result = (await node_client.post("/api/v1/records/bulk", json=[household()])).json()
    assert result["accepted"] == 1
    ids.append(uuid.UUID((await node_client.post("/api/v1/records", json=person())).json()["id"]))
    assert all(i.version == 7 for i in ids)
    assert ids[0].int >> 80 <= ids[1].int >> 80  # the millisecond prefix never goes back
