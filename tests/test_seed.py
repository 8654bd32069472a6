"""The article's dataset (node/seed): topology, determinism, validity, and every figure the
article gives, read back through a prefecture's views API — once after bulk writes into the
prefecture itself, once pushed up from the village that owns the data."""

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.app import create_app
from node.seed import build_topology, records_for, subtree_records
from node.seed.context import CHINA
from node.settings import Settings
from schemas.codes import parent_of
from schemas.kinds import validate_data
from tests.access_support import sign_in
from tests.cluster import Cluster
from tests.lifespan import running

AS_OF = datetime.now(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
JIANZHA, KANGYANG = "632322", "632322101"
ZEKU, MAIXIU, HAZANG = "632323", "632323102", "632323102201"
TUOYEMA = "632324106"


def test_huangnan_topology_has_the_prefectures_shape() -> None:
    units = build_topology("huangnan")
    levels = Counter(u.level for u in units)
    assert levels == {"prefecture": 1, "county": 4, "township": 34, "village": 270, "grid": 1862}
    counties = {u.code: u.name for u in units if u.level == "county"}
    assert counties == {
        "632301": "Tongren City",
        "632322": "Jianzha County",
        "632323": "Zeku County",
        "632324": "Henan Mongol Autonomous County",
    }
    by_code = {u.code: u for u in units}
    assert len(by_code) == len(units)
    for unit in units:
        assert unit.parent == parent_of(unit.code)
        assert unit.parent is None or unit.parent in by_code
    named = {c: by_code[c].name for c in (KANGYANG, "632322101201", MAIXIU, HAZANG, TUOYEMA)}
    assert named == {
        KANGYANG: "Kangyang Town",
        "632322101201": "Dongmen Village",
        MAIXIU: "Maixiu Town",
        HAZANG: "Hazang Village",
        TUOYEMA: "Tuoyema Township",
    }
    assert sum(u.parent == KANGYANG for u in units) == 14
    assert sum(u.parent == TUOYEMA for u in units) == 6
    assert build_topology("huangnan") == units  # the tree never depends on anything else


def test_records_are_deterministic_valid_and_owned_by_their_unit() -> None:
    first = list(records_for("demo", HAZANG, seed=7, as_of=AS_OF))
    assert first == list(records_for("demo", HAZANG, seed=7, as_of=AS_OF))
    assert first != list(records_for("demo", HAZANG, seed=8, as_of=AS_OF))
    assert len({r["id"] for r in first}) == len(first)
    persons = [r["data"] for r in first if r["kind"] == "person"]
    assert len({p["id_number"] for p in persons}) == len(persons)
    households = {r["id"]: r["data"]["member_count"] for r in first if r["kind"] == "household"}
    members = Counter(p["household_id"] for p in persons)
    assert members == Counter(households) and all(n >= 1 for n in households.values())
    for record in subtree_records("demo", "6323", seed=1, as_of=AS_OF):
        assert record["unit"].startswith(record["unit"][:4])
        validate_data(record["kind"], record["data"])
    grid = next(u.code for u in build_topology("demo") if u.parent == HAZANG)
    assert {r["unit"] for r in records_for("demo", grid, 1, as_of=AS_OF)} == {grid}
    with pytest.raises(ValueError, match="not in profile"):
        records_for("demo", "632301102", 1)


async def view(client: httpx.AsyncClient, name: str, unit: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/views/{name}", params={"unit": unit})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def bulk(client: httpx.AsyncClient, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), 2000):
        response = await client.post("/api/v1/records/bulk", json=records[start : start + 2000])
        assert response.status_code == 200, response.text
        assert response.json()["rejected"] == [], response.json()["rejected"][:3]


async def check_hazang(client: httpx.AsyncClient) -> None:
    population = await view(client, "population", HAZANG)
    assert (population["households"], population["persons"]) == (583, 2223)
    governance = await view(client, "governance", HAZANG)
    assert (governance["grid_leaders"], governance["grid_members"]) == (10, 94)


async def test_every_article_figure_through_the_prefectures_api(tmp_path: Path) -> None:
    app = create_app(
        Settings(code="6323", name="Huangnan", data_dir=tmp_path), run_replicator=False
    )
    async with running(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            sign_in(client, app)
            await bulk(client, list(subtree_records("demo", "6323", seed=1, as_of=AS_OF)))
            await check_hazang(client)

            kangyang = await view(client, "governance", KANGYANG)
            assert (kangyang["grids"], kangyang["grid_leaders"]) == (40, 40)
            assert kangyang["grid_members"] == 256
            assert len(kangyang["children"]) == 14
            assert sum(c["centres"] for c in kangyang["children"]) == 14

            jianzha = await view(client, "disputes", JIANZHA)
            centre = jianzha["own"]  # the mediation centre is a county body: records at 632322
            assert (centre["accepted"], centre["mediated"]) == (159, 118)
            assert centre["recovered_yuan"] == 7_277_000
            assert centre["recovered_yuan_exact"] == "7277000.00"

            tuoyema = await view(client, "legal", TUOYEMA)
            assert tuoyema["publicity_sessions"] >= 20 and tuoyema["publicity_attendance"] >= 3120
            committees = await view(client, "governance", TUOYEMA)
            assert len(committees["children"]) == 6
            assert all(
                c["governance_orgs"]["legal_service_station"] == 1 for c in committees["children"]
            )
            zeku = await view(client, "governance", ZEKU)
            assert zeku["own"]["governance_orgs"]["service_post"] == 6

            patrols = await view(client, "patrols", "6323")
            assert patrols["grids"] == 94
            assert 0.6 < patrols["compliance_rate"] < 1 and patrols["missing"]
            summary = await view(client, "summary", "6323")
            assert [c["unit"] for c in summary["children"]] == [
                "632301",
                "632322",
                "632323",
                "632324",
            ]


async def test_seeded_village_data_reaches_the_top_by_replication(cluster: Cluster) -> None:
    await cluster.add("6323", "Huangnan Tibetan Autonomous Prefecture")
    await cluster.add(ZEKU, "Zeku County", parent="6323")
    await cluster.add(MAIXIU, "Maixiu Town", parent=ZEKU)
    await cluster.add(HAZANG, "Hazang Village", parent=MAIXIU)
    for code in (ZEKU, MAIXIU, HAZANG):
        await bulk(
            cluster.nodes[code].client, list(records_for("huangnan", code, seed=3, as_of=AS_OF))
        )
    await cluster.sync()
    top = cluster.nodes["6323"].client
    await check_hazang(top)
    maixiu = await view(top, "summary", MAIXIU)
    assert maixiu["children"][0]["name"] == "Hazang Village"
    assert maixiu["children"][0]["freshness"]["stale"] is False
