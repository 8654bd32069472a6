"""The views API (CONTRACT.md, Views) on SQLite and PostgreSQL: figures, own, children, moves,
deletions, 403 outside the subtree and 422 for a malformed code."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.factories import person_data

VILLAGE = "632322101201"
G1, G2 = VILLAGE + "001", VILLAGE + "002"


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def rec(kind: str, unit: str, **data: Any) -> dict[str, Any]:
    return {"kind": kind, "unit": unit, "data": data}


def dispute(status: str, yuan: str, n: int) -> dict[str, Any]:
    return rec(
        "dispute",
        VILLAGE,
        case_no=f"C{n}",
        parties=["A", "B"],
        accepted_on="2020-06-02",
        status=status,
        amount_recovered_yuan=yuan,
    )


def patrol(grid: str, kind: str, when: str) -> dict[str, Any]:
    return rec("patrol", grid, grid=grid, patrol_type=kind, worker="Dorje", visited_at=when)


async def post(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/records", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def view(client: httpx.AsyncClient, name: str, unit: str | None = None) -> dict[str, Any]:
    response = await client.get(f"/api/v1/views/{name}", params={"unit": unit} if unit else {})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["unit"]: c for c in body["children"]}


async def seed(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    made = {
        "p1": await post(client, rec("person", G1, **person_data(status="registered"))),
        "p2": await post(client, rec("person", G1, **person_data(status="floating"))),
        "p3": await post(client, rec("person", G2, **person_data(ethnicity="Tibetan"))),
        "h1": await post(
            client, rec("household", G1, address="1 Road", head_name="T", member_count=3)
        ),
        "k1": await post(
            client,
            rec(
                "key_person",
                G1,
                id_number=person_data()["id_number"],
                name="L",
                category="key_youth",
                risk_level="high",
                responsible_worker="D",
            ),
        ),
        "i1": await post(
            client,
            rec(
                "incident",
                G2,
                category="hazard",
                title="wire",
                status="handling",
                reported_at="2020-11-20T01:00:00+08:00",
                reporter="D",
            ),
        ),
        "d1": await post(client, dispute("mediated", "7277000.10", 1)),
        "d2": await post(client, dispute("failed", "0.25", 2)),
        "d3": await post(client, dispute("mediating", "0", 3)),
        "g1": await post(
            client, rec("grid", G1, code=G1, name="Grid one", leader="D", members=["a", "b", "c"])
        ),
        "g2": await post(
            client, rec("grid", G2, code=G2, name="Grid two", leader="E", members=["d", "e"])
        ),
        "l1": await post(
            client,
            rec(
                "legal_activity",
                VILLAGE,
                title="Law day",
                activity_type="publicity",
                held_on="2020-09-15",
                attendance=160,
            ),
        ),
        "o1": await post(client, rec("governance_org", VILLAGE, name="Centre", org_type="centre")),
    }
    await post(client, patrol(G1, "basic", ago(days=1)))
    await post(client, patrol(G1, "screening", ago(days=20)))
    await post(client, patrol(G2, "basic", ago(days=10)))
    await post(client, patrol(G2, "screening", ago(days=3)))
    return made


async def test_every_view_of_a_village_and_its_grids(node_client: httpx.AsyncClient) -> None:
    await seed(node_client)

    summary = await view(node_client, "summary")
    assert summary["counts"]["person"] == 3 and summary["counts"]["patrol"] == 4
    assert summary["own"] == {"dispute": 3, "governance_org": 1, "legal_activity": 1}
    assert rows(summary)[G1]["counts"]["person"] == 2
    assert rows(summary)[G1]["name"] == "Grid one" and rows(summary)[G1]["level"] == "grid"

    population = await view(node_client, "population")
    assert population["persons"] == 3 and population["household_members"] == 3
    assert population["by_status"] == {"floating": 1, "registered": 2}
    assert sum(population["by_sex"].values()) == 3 == sum(population["by_age_band"].values())
    assert rows(population)[G2]["by_ethnicity"] == {"Tibetan": 1}

    disputes = await view(node_client, "disputes")
    assert (disputes["accepted"], disputes["mediated"], disputes["failed"]) == (3, 1, 1)
    assert disputes["in_progress"] == 1 and disputes["success_rate"] == round(1 / 3, 4)
    assert disputes["recovered_yuan"] == 7277000.35
    assert disputes["recovered_yuan_exact"] == "7277000.35"
    assert disputes["own"]["accepted"] == 3

    patrols = await view(node_client, "patrols")
    assert (patrols["grids"], patrols["basic_ok"], patrols["screening_ok"]) == (2, 1, 2)
    assert patrols["missing"] == [G2] and patrols["compliant"] == 1
    assert patrols["missing_detail"][0]["basic_ok"] is False
    assert rows(patrols)[G1]["missing"] == []

    governance = await view(node_client, "governance")
    assert (governance["grids"], governance["grid_leaders"], governance["grid_members"]) == (
        2,
        2,
        5,
    )
    assert governance["centres"] == 1
    key_groups = await view(node_client, "key-groups")
    assert key_groups["by_category_risk"] == {"key_youth": {"high": 1}}
    assert key_groups["high_risk"] == 1
    incidents = await view(node_client, "incidents")
    assert incidents["open"] == 1 and incidents["by_month"] == {"2020-11": 1}
    legal = await view(node_client, "legal")
    assert (legal["publicity_sessions"], legal["publicity_attendance"]) == (1, 160)
    overview = await view(node_client, "overview", G1)
    assert overview["population"]["persons"] == 2 and overview["patrols"]["missing"] == []


async def test_moves_edits_and_deletions_keep_every_level_exact(
    node_client: httpx.AsyncClient,
) -> None:
    made = await seed(node_client)
    moved = dict(made["p1"]["data"], status="moved_out")
    response = await node_client.put(
        f"/api/v1/records/{made['p1']['id']}", json=rec("person", G2, **moved)
    )
    assert response.status_code == 200
    settled = dict(made["d3"]["data"], status="mediated", amount_recovered_yuan="99.65")
    settle = await node_client.put(
        f"/api/v1/records/{made['d3']['id']}", json=rec("dispute", VILLAGE, **settled)
    )
    assert settle.status_code == 200, settle.text
    assert (await node_client.delete(f"/api/v1/records/{made['d2']['id']}")).status_code == 204
    assert (await node_client.delete(f"/api/v1/records/{made['g2']['id']}")).status_code == 204

    population = await view(node_client, "population")
    assert population["by_status"] == {"floating": 1, "moved_out": 1, "registered": 1}
    assert rows(population)[G1]["persons"] == 1 and rows(population)[G2]["persons"] == 2
    disputes = await view(node_client, "disputes")
    assert (disputes["accepted"], disputes["mediated"], disputes["failed"]) == (2, 2, 0)
    assert disputes["recovered_yuan_exact"] == "7277099.75"
    patrols = await view(node_client, "patrols")
    assert patrols["grids"] == 1 and patrols["missing"] == []
    governance = await view(node_client, "governance")
    assert governance["grid_members"] == 3


async def test_refuses_units_outside_the_subtree_and_malformed_codes(
    node_client: httpx.AsyncClient,
) -> None:
    for name in ("summary", "population", "disputes", "patrols", "overview"):
        outside = await node_client.get(f"/api/v1/views/{name}", params={"unit": "632322101202"})
        assert outside.status_code == 403, outside.text
        assert outside.json()["error"]["details"][0]["field"] == "unit"
        malformed = await node_client.get(f"/api/v1/views/{name}", params={"unit": "63232x"})
        assert malformed.status_code == 422
        assert malformed.json()["error"]["details"][0]["field"] == "unit"

    # A code inside the subtree that nothing knows of is no unit: 404, never a unit full of zeros
    # with 100 % patrol compliance (issue 15).
    for name in ("summary", "population", "patrols", "directives", "overview"):
        unknown = await node_client.get(f"/api/v1/views/{name}", params={"unit": G1})
        assert unknown.status_code == 404, unknown.text
        error = unknown.json()["error"]
        assert error["code"] == "not_found" and error["details"][0]["field"] == "unit"
        assert G1 in error["message"]


async def test_directive_progress_comes_from_the_directives_domain(cluster: Any) -> None:
    top = await cluster.add("6323", "Huangnan Prefecture")
    await cluster.add("632322", "Jianzha County", parent="6323")
    issued = await top.client.post(
        "/api/v1/directives",
        json={
            "title": "Monthly screening",
            "body": "Screen every grid.",
            "kind": "screening",
            "target": {"units": ["632322"]},
        },
    )
    assert issued.status_code == 201, issued.text
    directives = await view(top.client, "directives")
    assert directives["directives"] == 1 and directives["own"]["directives"] == 1
    progress = directives["progress"]
    assert progress is not None and progress[0]["title"] == "Monthly screening"
    assert progress[0]["targets"] == 1 and progress[0]["done"] == 0


def test_receipts_reached_are_cumulative_like_directive_progress() -> None:
    # Issue 15: the dashboard said "acknowledged 0" above a progress table showing 1, because
    # a unit that is done holds a receipt in state "done" only.
    from node.views import figures
    from node.views.frame import Tally

    tally = Tally()
    tally.add("receipt", "all", "", 3, 0)
    for state, n in (("delivered", 1), ("acknowledged", 1), ("done", 1)):
        tally.add("receipt", "state", state, n, 0)
    out = figures.directives(tally)
    assert out["receipts"] == {"acknowledged": 1, "delivered": 1, "done": 1}
    assert out["reached"] == {"delivered": 3, "acknowledged": 2, "done": 1}


def test_the_migration_rolls_up_what_an_upgraded_node_already_holds(tmp_path: Any) -> None:
    import uuid

    from alembic import command
    from sqlalchemy import create_engine, insert

    from node import migrate
    from node.app import open_node
    from node.models import ChildSync, NodeState, Record, table
    from node.settings import Settings
    from node.views import service

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = migrate.alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")  # a node from before the views
        conn.execute(
            insert(table(NodeState)).values(
                id=1, code="6323", last_hlc=9, created_at=datetime.now(UTC)
            )
        )
        for n, (kind, unit, data) in enumerate(
            [
                ("person", G1, person_data(status="floating")),
                ("dispute", VILLAGE, dispute("mediated", "12.50", 1)["data"]),
            ]
        ):
            conn.execute(
                insert(table(Record)).values(
                    id=uuid.uuid4(),
                    kind=kind,
                    unit=unit,
                    data=data,
                    hlc=n + 1,
                    origin="6323",
                    deleted=False,
                    schema_version=1,
                    seq=n + 1,
                    updated_at=datetime.now(UTC),
                )
            )
        conn.execute(
            insert(table(ChildSync)).values(
                code="632322",
                cursor=5,
                last_push_at=datetime.now(UTC),
                records_received=2,
                protocol=1,
            )
        )
    engine.dispose()
    ctx = open_node(Settings(code="6323", data_dir=tmp_path, database_url=url))
    try:
        top = service.summary(ctx)
        assert top.counts == {"dispute": 1, "person": 1}
        assert service.disputes(ctx, unit=VILLAGE).recovered_yuan_exact == "12.50"
        county = next(c for c in top.children if c.unit == "632322")
        assert county.freshness.source == "replica" and county.freshness.stale is False
    finally:
        ctx.db.dispose()
