"""Sensitive fields encrypted at rest (issue 14): a copied village database shows no clear ID
number or phone; the node reads them back in clear; lookups by ID number go through the keyed
hash index; a missing or wrong data key refuses to start."""

import shutil
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from node.app import create_app
from node.errors import Unavailable
from node.seed import records_for
from node.settings import Settings
from node.wiring import open_node
from tests.access_support import sign_in
from tests.lifespan import running
from tests.test_privacy_leaks import identities

VILLAGE = "632322101201"


def village_settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(code=VILLAGE, data_dir=tmp_path / "v", allowed_hosts=["village"], **extra)


async def loaded_village(app: FastAPI) -> tuple[httpx.AsyncClient, list[dict]]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://village")
    sign_in(client, app)
    records = list(records_for("demo", VILLAGE, seed=9))
    body = [{k: r[k] for k in ("id", "kind", "unit", "data")} for r in records]
    response = await client.post("/api/v1/records/bulk", json=body)
    assert response.status_code == 200 and response.json()["rejected"] == [], response.text[:300]
    return client, records


async def test_a_copied_village_database_shows_no_clear_id_number(tmp_path: Path) -> None:
    settings = village_settings(tmp_path)
    app = create_app(settings)
    async with running(app):
        client, records = await loaded_village(app)
        person = next(r for r in records if r["kind"] == "person" and "phone" in r["data"])
        revealed = await client.post(
            f"/api/v1/records/{person['id']}/reveal", json={"reason": "check"}
        )
        assert revealed.json()["data"]["id_number"] == person["data"]["id_number"]
        assert revealed.json()["data"]["phone"] == person["data"]["phone"]
        found = await client.get(
            "/api/v1/records", params={"id_number": person["data"]["id_number"]}
        )
        assert [r["id"] for r in found.json()["items"]] == [person["id"]]
        await client.aclose()
    copy = tmp_path / "copy.db"
    db_file = tmp_path / "v" / "tiersync.db"
    shutil.copy(db_file, copy)
    raw = copy.read_bytes() + b"".join(
        p.read_bytes() for p in db_file.parent.glob("tiersync.db-*") if p.is_file()
    )
    ids, phones = identities(records)
    assert len(ids) > 100 and len(phones) > 20
    assert not [i for i in ids if i.encode() in raw]
    assert not [p for p in phones if p.encode() in raw]
    assert b"enc:" in raw
    key_file = tmp_path / "v" / "data.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


async def test_a_missing_or_wrong_data_key_refuses_to_start(tmp_path: Path) -> None:
    settings = village_settings(tmp_path)
    ctx = open_node(settings)
    with ctx.db.write() as txn:  # something sealed to guard
        import uuid

        from node.records.store import Version, store_versions
        from tests.factories import person_data

        store_versions(
            txn, [Version(uuid.uuid4(), "person", VILLAGE, person_data(), 1, VILLAGE, False, 1)]
        )
    ctx.db.dispose()
    wrong = village_settings(tmp_path, data_key="00" * 32)
    with pytest.raises(Unavailable, match="does not open this node's records"):
        open_node(wrong)
    (tmp_path / "v" / "data.key").unlink()
    with pytest.raises(Unavailable, match="no data key was found"):
        open_node(settings)


def test_the_sm_suite_seals_with_sm4_and_its_own_key_size(tmp_path: Path) -> None:
    import uuid

    from node.records import repository
    from node.records.store import Version, store_versions
    from tests.factories import person_data

    settings = village_settings(tmp_path, crypto="sm")
    ctx = open_node(settings)
    try:
        assert len(bytes.fromhex((tmp_path / "v" / "data.key").read_text())) == 16
        data, rid = person_data(phone="13800000001"), uuid.uuid4()
        with ctx.db.write() as txn:
            store_versions(txn, [Version(rid, "person", VILLAGE, data, 1, VILLAGE, False, 1)])
        with ctx.db.read() as conn:
            row = repository.get_row(conn, rid)
        assert row is not None and row.data == data
        with ctx.db.engine.connect() as conn:  # as a copied file would show it
            from sqlalchemy import text

            raw = conn.execute(text("SELECT data FROM records")).scalar_one()
        assert data["id_number"] not in str(raw) and "13800000001" not in str(raw)
    finally:
        ctx.db.dispose()
    with pytest.raises(Unavailable, match="needs 16"):
        open_node(village_settings(tmp_path, crypto="sm", data_key="00" * 32))
