"""Personal data leaves the API masked; one record is revealed with a reason, audited; every
write through the API names its real actor."""

import httpx
from fastapi import FastAPI

from node.audit import service as audit
from schemas.personal import mask_id, mask_phone, masked
from tests.access_support import bearer, grant
from tests.factories import person

VILLAGE = "632322101201"


def test_masks_keep_region_and_last_digits() -> None:
    assert mask_id("632322198807150035") == "632322********0035"
    assert mask_phone("13800000001") == "138****0001"
    shown, paths = masked(
        "governance_org",
        {
            "name": "调解委员会",
            "members": [{"name": "李", "phone": "0973-8721234"}, {"name": "王"}],
        },
    )
    assert shown["members"][0]["phone"] == "097*****1234" and paths == ["data.members.0.phone"]
    key, hidden = masked(
        "key_person",
        {"id_number": "632322199003020125", "name": "拉毛措", "category": "drug_rehabilitation",
         "risk_level": "low", "note": "weekly visit"},
    )  # fmt: skip
    assert "category" not in key and "note" not in key and key["risk_level"] == "low"
    assert sorted(hidden) == ["data.category", "data.id_number", "data.note"]


async def test_records_come_back_masked_and_reveal_is_audited(
    node_client: httpx.AsyncClient,
) -> None:
    body = person(phone="13897312345")
    created = (await node_client.post("/api/v1/records", json=body)).json()
    clear = body["data"]["id_number"]
    assert created["data"]["id_number"] == mask_id(clear)
    assert created["data"]["phone"] == "138****2345"
    assert created["masked"] == ["data.id_number", "data.phone"]
    listed = (await node_client.get("/api/v1/records", params={"kind": "person"})).json()
    assert clear not in str(listed)
    short = await node_client.post(f"/api/v1/records/{created['id']}/reveal", json={"reason": "x"})
    assert short.status_code == 422 and short.json()["error"]["details"][0]["field"] == "reason"
    why = "household visit, ID check"
    revealed = await node_client.post(
        f"/api/v1/records/{created['id']}/reveal", json={"reason": why}
    )
    assert revealed.status_code == 200
    assert revealed.json()["data"]["id_number"] == clear and revealed.json()["masked"] == []


async def test_the_auditor_reads_who_revealed_what_and_why(
    node_app: FastAPI, node_client: httpx.AsyncClient
) -> None:
    created = (await node_client.post("/api/v1/records", json=person())).json()
    why = "dispute mediation, party identity"
    await node_client.post(f"/api/v1/records/{created['id']}/reveal", json={"reason": why})
    me = (await node_client.get("/api/v1/auth/me")).json()
    assert (await node_client.get("/api/v1/audit")).status_code == 403  # an operator: no
    ctx = node_app.state.ctx
    auditor = bearer(grant(ctx.db, VILLAGE, "auditor"))
    log = (await node_client.get("/api/v1/audit", headers=auditor, params={"limit": 20})).json()
    reveal = next(e for e in log if e["action"] == "personal.reveal")
    assert reveal["actor"] == f"user:{me['name']}"
    assert created["id"] in reveal["detail"] and why in reveal["detail"]
    create = next(e for e in log if e["action"] == "record.create")
    assert create["actor"] == f"user:{me['name']}"
    assert all(e.actor != "api" for e in audit.entries(ctx.db, limit=100))


async def test_a_record_written_back_as_shown_keeps_its_personal_data(
    node_client: httpx.AsyncClient,
) -> None:
    body = person(phone="13897312345")
    shown = (await node_client.post("/api/v1/records", json=body)).json()
    edited = {"kind": "person", "unit": shown["unit"], "data": {**shown["data"], "name": "扎西"}}
    put = await node_client.put(f"/api/v1/records/{shown['id']}", json=edited)
    assert put.status_code == 200, put.text
    reason = {"reason": "check the edit kept the ID"}
    clear = (await node_client.post(f"/api/v1/records/{shown['id']}/reveal", json=reason)).json()
    assert clear["data"]["id_number"] == body["data"]["id_number"]
    assert clear["data"]["phone"] == "13897312345" and clear["data"]["name"] == "扎西"
    # A masked value in a new record is no ID number: refused, naming the field.
    bad = {**body, "data": {**body["data"], "id_number": shown["data"]["id_number"]}}
    refused = await node_client.post("/api/v1/records", json=bad)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "data.id_number"


async def test_a_bulk_import_is_one_audit_entry_with_counts(
    node_app: FastAPI, node_client: httpx.AsyncClient
) -> None:
    rows = [person(), person(), {"kind": "person", "unit": VILLAGE, "data": {}}]
    result = (await node_client.post("/api/v1/records/bulk", json=rows)).json()
    assert result["accepted"] == 2
    ctx = node_app.state.ctx
    [entry] = audit.entries(ctx.db, action="records.import")
    assert entry.detail == "2 accepted, 1 rejected" and entry.actor.startswith("user:")
