"""The edge refuses what some node could not store or sum (issue 10, item 2, the edge half):
unbounded counts, U+0000, lone surrogates, NaN/Infinity and integers beyond 64 bits — on POST,
PUT, every bulk row and the push — with 422 naming the field; never a 500. Both engines."""

import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.ops.status import node_status
from schemas.sync import PROTOCOL_VERSION
from tests.cluster import Cluster, Node
from tests.factories import household, person

VILLAGE = "632322101201"
TOWNSHIP = "632322101"
BIG = 2**64
HUGE = 2**62


def raw(body: Any) -> bytes:
    """JSON as a careless client writes it: NaN and big integers included."""
    return json.dumps(body, allow_nan=True).encode()


async def post_raw(client: httpx.AsyncClient, url: str, body: Any) -> httpx.Response:
    return await client.post(url, content=raw(body), headers={"content-type": "application/json"})


def first_detail(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    detail: dict[str, Any] = response.json()["error"]["details"][0]
    return detail


POISONS: list[tuple[str, Callable[[], dict[str, Any]], str, str]] = [
    (
        "huge member_count",
        lambda: household() | {"data": household()["data"] | {"member_count": HUGE}},
        "data.member_count",
        "less than or equal to 1000000000",
    ),
    (
        "2^64 member_count",
        lambda: household() | {"data": household()["data"] | {"member_count": BIG}},
        "data.member_count",
        "",
    ),
    (
        "NUL in a name",
        lambda: person() | {"data": person()["data"] | {"name": "Tashi\x00"}},
        "data.name",
        "U+0000",
    ),
    (
        "NUL nested in a list",
        lambda: {
            "kind": "dispute",
            "unit": VILLAGE,
            "data": {
                "case_no": "X-1",
                "parties": ["a", "b\x00"],
                "accepted_on": "2020-01-01",
                "status": "accepted",
            },
        },
        "data.parties.1",
        "U+0000",
    ),
    (
        "NaN count",
        lambda: household() | {"data": household()["data"] | {"member_count": float("nan")}},
        "data.member_count",
        "finite",
    ),
    (
        "lone surrogate",
        lambda: person() | {"data": person()["data"] | {"name": "Ta\ud800shi"}},
        "data.name",
        "surrogate",
    ),
    (
        "2^64 in an unknown field",
        lambda: person() | {"data": person()["data"] | {"extra": BIG}},
        "data.extra",
        "64 bits",
    ),
]


@pytest.mark.parametrize(("label", "body", "field", "reason"), POISONS, ids=[p[0] for p in POISONS])
async def test_post_and_put_refuse_each_poison_naming_the_field(
    node_client: httpx.AsyncClient,
    label: str,
    body: Callable[[], dict[str, Any]],
    field: str,
    reason: str,
) -> None:
    created = await post_raw(node_client, "/api/v1/records", body())
    detail = first_detail(created)
    assert detail["field"] == field and reason in detail["reason"], detail
    put = await node_client.put(
        f"/api/v1/records/{uuid.uuid4()}",
        content=raw(body()),
        headers={"content-type": "application/json"},
    )
    assert first_detail(put)["field"] == field
    listed = await node_client.get("/api/v1/records")
    assert listed.json()["items"] == []


async def test_a_bad_bulk_row_is_one_rejected_row(node_client: httpx.AsyncClient) -> None:
    rows = [person(), *(poison() for _, poison, _, _ in POISONS), household()]
    response = await post_raw(node_client, "/api/v1/records/bulk", rows)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 2
    rejected = {r["index"]: r["error"] for r in result["rejected"]}
    assert sorted(rejected) == list(range(1, len(POISONS) + 1))
    for index, (_, _, field, _) in enumerate(POISONS, start=1):
        assert field in rejected[index], rejected[index]


async def test_envelope_nul_is_refused(node_client: httpx.AsyncClient) -> None:
    body = person() | {"kind": "person\x00"}
    detail = first_detail(await post_raw(node_client, "/api/v1/records", body))
    assert detail["field"] == "kind"


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


def wire(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": "household",
        "unit": VILLAGE,
        "data": data,
        "version": f"{1 << 50:016x}.{VILLAGE}",
        "deleted": False,
        "schema_version": 1,
    } | overrides


async def push(parent: Node, child: Node, **fields: Any) -> httpx.Response:
    batch = {
        "protocol": PROTOCOL_VERSION,
        "source": child.code,
        "since": 0,
        "until": 1,
        "head": 1,
        "records": [],
        "units": [],
    } | fields
    return await parent.client.post(
        "/api/v1/sync/push",
        content=raw(batch),
        headers={
            "Authorization": f"Bearer {child.settings.parent_token}",
            "content-type": "application/json",
        },
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"until": BIG, "head": BIG}, "until"),
        ({"since": BIG}, "since"),
        ({"head": BIG}, "head"),
        (
            {
                "units": [
                    {
                        "code": VILLAGE + "003",
                        "name": "g\x00",
                        "level": "grid",
                        "parent": VILLAGE,
                        "hlc": 1,
                    }
                ]
            },
            "units.0.name",
        ),
        (
            {
                "units": [
                    {
                        "code": VILLAGE + "003",
                        "name": "g",
                        "level": "grid",
                        "parent": VILLAGE,
                        "hlc": BIG,
                    }
                ]
            },
            "units.0.hlc",
        ),
        ({"digest": {"person": [BIG, 1]}}, "digest.person.0"),
    ],
)
async def test_push_with_an_unstorable_envelope_is_422_naming_the_field(
    parent_child: tuple[Node, Node], fields: dict[str, Any], field: str
) -> None:
    parent, child = parent_child
    response = await push(parent, child, **fields)
    assert first_detail(response)["field"] == field
    # nothing was taken: the cursor did not move and a good push still goes through
    good = await push(parent, child, records=[wire({"address": "x", "head_name": "y"})])
    assert good.status_code == 200, good.text
    assert good.json()["applied"] == 1


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (wire({"address": "x", "head_name": "y", "member_count": BIG}), "64 bits"),
        (wire({"address": "x", "head_name": "y", "member_count": 1.5e300}), "64 bits"),
        (wire({"address": "x", "head_name": "y", "note": float("nan")}), "finite"),
        (wire({"address": "x", "head_name": "y", "note": float("inf")}), "finite"),
        (wire({"address": "x", "head_name": "y\x00"}), "U+0000"),
        (wire({"address": "x", "head_name": "y"}, kind="house\x00hold"), "U+0000"),
    ],
)
async def test_a_pushed_record_with_unstorable_values_is_quarantined_and_the_rest_applied(
    parent_child: tuple[Node, Node], record: dict[str, Any], reason: str
) -> None:
    """Issue 10, defect 2: one poisoned record (a child that skipped the edge's checks) no
    longer refuses its whole batch: it is set aside with its reason, the rest is applied."""
    parent, child = parent_child
    good = wire({"address": "x", "head_name": "y"})
    answer = await push(parent, child, records=[record, good])
    assert answer.status_code == 200, answer.text
    assert (answer.json()["applied"], answer.json()["quarantined"]) == (1, 1)
    assert answer.json()["cursor"] == 1  # the batch is acknowledged: nothing blocks behind it
    items = (await parent.client.get("/api/v1/sync/quarantine")).json()["items"]
    assert [i["record_id"] for i in items] == [record["id"]]
    assert reason in items[0]["reason"] and items[0]["reason"].startswith("records.0")


async def test_enrolled_child_credential_is_needed_first(
    parent_child: tuple[Node, Node],
) -> None:
    """The refusals above come after authentication: a stranger still gets 401."""
    parent, _child = parent_child
    response = await parent.client.post(
        "/api/v1/sync/push", content=raw({"until": BIG}), headers={"authorization": "Bearer x"}
    )
    assert response.status_code == 401


async def test_quarantined_records_make_status_report_trouble(
    parent_child: tuple[Node, Node],
) -> None:
    """What the edge lets through but a parent sets aside shows in `tiersync status` (exit 1)."""
    parent, child = parent_child
    assert not any("quarantined" in p for p in node_status(parent.ctx).problems)
    answer = await push(parent, child, records=[wire({"x": 1}, kind="future_kind")])
    assert answer.status_code == 200 and answer.json()["quarantined"] == 1
    report = node_status(parent.ctx)
    assert not report.ok
    assert any("1 条记录被隔离" in p for p in report.problems), report.problems


async def test_a_directive_poll_beyond_64_bits_is_422(parent_child: tuple[Node, Node]) -> None:
    parent, child = parent_child
    answer = await parent.client.get(
        "/api/v1/sync/directives",
        params={"since": str(BIG), "wait": 0},
        headers={"Authorization": f"Bearer {child.settings.parent_token}"},
    )
    assert first_detail(answer)["field"] == "since"
