"""Properties of the roll-ups: every view of every unit equals a brute-force count of the live
records (so a parent's figures are the sum of its children's plus its own), through writes,
moves, edits and deletions; and across a cluster, the replica at the top equals each origin."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from node.app import create_app
from node.settings import Settings
from tests.access_support import sign_in
from tests.cluster import Cluster
from tests.factories import person_data
from tests.lifespan import running

TOWNSHIPS = ["632322101", "632322102", "632323101"]
VILLAGES = ["632322101201", "632322101202", "632322102201", "632323101201"]
GRIDS = [v + g for v in VILLAGES for g in ("001", "002")]
UNITS = ["6323", "632322", "632323", *TOWNSHIPS, *VILLAGES, *GRIDS]
KINDS = ["person", "household", "dispute", "grid", "patrol", "legal_activity"]
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def data_for(kind: str, unit: str, variant: int) -> tuple[str, dict[str, Any]]:
    """A valid record of `kind` near `unit` (unit, data); `variant` picks its features."""
    grid = unit if len(unit) == 15 else GRIDS[variant % len(GRIDS)]
    if kind == "person":
        status = ["registered", "floating", "moved_out"][variant % 3]
        return unit, person_data(status=status)
    if kind == "household":
        return unit, {"address": "Road", "head_name": "T", "member_count": variant % 5}
    if kind == "dispute":
        status = ["accepted", "mediating", "mediated", "failed", "referred"][variant % 5]
        return unit, {
            "case_no": f"C{variant}",
            "parties": ["A"],
            "accepted_on": "2020-06-02",
            "status": status,
            "amount_recovered_yuan": f"{variant * 1234.01:.2f}",
        }
    if kind == "grid":
        members = [f"m{i}" for i in range(variant % 4)]
        return grid, {"code": grid, "name": f"Grid {grid[-3:]}", "leader": "L", "members": members}
    if kind == "patrol":
        days = [1, 3, 10, 40][variant % 4]
        when = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        patrol_type = "basic" if variant % 2 else "screening"
        return grid, {"grid": grid, "patrol_type": patrol_type, "worker": "W", "visited_at": when}
    return unit, {
        "title": "Law day",
        "activity_type": ["publicity", "consultation"][variant % 2],
        "held_on": "2020-09-15",
        "attendance": variant * 7,
    }


def expected(records: list[dict[str, Any]], unit: str) -> dict[str, Any]:
    """Brute force over the live records: the figures the views must show for `unit`."""
    inside = [r for r in records if r["unit"].startswith(unit)]
    of = {k: [r["data"] for r in inside if r["kind"] == k] for k in KINDS}
    counts = {k: len(v) for k, v in of.items() if v}
    now = datetime.now(UTC)
    grids = sorted({r["data"]["code"] for r in records if r["kind"] == "grid"} & set(GRIDS))
    grids = [g for g in grids if g.startswith(unit)]

    def visited(grid: str, kind: str, days: int) -> bool:
        return any(
            p["grid"] == grid
            and p["patrol_type"] == kind
            and now - datetime.fromisoformat(p["visited_at"]) < timedelta(days=days)
            for p in (r["data"] for r in records if r["kind"] == "patrol")
        )

    disputes = of["dispute"]
    return {
        "summary": {"counts": counts},
        "population": {
            "persons": len(of["person"]),
            "household_members": sum(h["member_count"] for h in of["household"]),
            "by_status": _tally(p["status"] for p in of["person"]),
            "by_sex": _tally(p["sex"] for p in of["person"]),
        },
        "disputes": {
            "accepted": len(disputes),
            "mediated": sum(d["status"] == "mediated" for d in disputes),
            "in_progress": sum(d["status"] in ("accepted", "mediating") for d in disputes),
            "recovered_yuan_exact": str(
                sum((Decimal(d["amount_recovered_yuan"]) for d in disputes), Decimal("0.00"))
            ),
        },
        "governance": {
            "grids": len(of["grid"]),
            "grid_members": sum(len(g["members"]) for g in of["grid"]),
        },
        "legal": {
            "sessions": len(of["legal_activity"]),
            "attendance": sum(a["attendance"] for a in of["legal_activity"]),
        },
        "patrols": {
            "grids": len(grids),
            "basic_ok": sum(visited(g, "basic", 7) for g in grids),
            "screening_ok": sum(visited(g, "screening", 30) for g in grids),
        },
    }


def _tally(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def pick(body: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in wanted}


async def live_records(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/records", params=params)).json()
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


async def check_every_unit(client: httpx.AsyncClient, units: list[str]) -> None:
    records = await live_records(client)
    for unit in units:
        want = expected(records, unit)
        for name, figures in want.items():
            response = await client.get(f"/api/v1/views/{name}", params={"unit": unit})
            if response.status_code == 404:  # a unit the node knows nothing of: none live there
                assert not any(r["unit"].startswith(unit) for r in records), (name, unit)
                continue
            body = response.json()
            assert pick(body, figures) == figures, (name, unit)
            for child in body["children"]:
                child_want = expected(records, child["unit"])[name]
                assert pick(child, child_want) == child_want, (name, child["unit"])
            if name == "summary":  # a parent's counts: its own plus the sum of its children's
                total = dict(body["own"])
                for child in body["children"]:
                    for kind, n in child["counts"].items():
                        total[kind] = total.get(kind, 0) + n
                assert total == body["counts"], unit


@pytest.fixture
async def prefecture(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(code="6323", data_dir=tmp_path / "p"), run_replicator=False)
    async with running(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            sign_in(client, app)
            yield client


ops = st.lists(
    st.tuples(
        st.sampled_from(["write", "write", "move", "edit", "delete"]),
        st.sampled_from(KINDS),
        st.sampled_from(UNITS),
        st.integers(0, 60),
    ),
    min_size=1,
    max_size=25,
)


@SETTINGS
@given(operations=ops)
async def test_views_equal_brute_force_counts_at_every_unit(
    prefecture: httpx.AsyncClient, operations: list[tuple[str, str, str, int]]
) -> None:
    written: list[dict[str, Any]] = []
    for op, kind, unit, variant in operations:
        if op == "write" or not written:
            at, data = data_for(kind, unit, variant)
            response = await prefecture.post(
                "/api/v1/records", json={"kind": kind, "unit": at, "data": data}
            )
            assert response.status_code == 201, response.text
            written.append({**response.json(), "data": data})  # as written, not as shown masked
            continue
        target = written[variant % len(written)]
        if op == "delete":
            await prefecture.delete(f"/api/v1/records/{target['id']}")
            continue
        at, data = data_for(target["kind"], unit, variant + 1)
        if op == "move" and target["kind"] not in ("grid", "patrol"):
            at, data = unit, target["data"]
        response = await prefecture.put(
            f"/api/v1/records/{target['id']}",
            json={"kind": target["kind"], "unit": at, "data": data},
        )
        assert response.status_code in (200, 201), response.text
    await check_every_unit(prefecture, ["6323", "632322", "632322101", VILLAGES[0], GRIDS[0]])


NODE_TREES = st.sampled_from(
    [
        ["632322", "632322101", "632322101201"],
        ["632322", "632323", "632322101", "632322101201", "632322101202"],
        ["632323", "632323101", "632323101201"],
    ]
)


def owned_by(code: str, unit: str, tree: list[str]) -> bool:
    """The node at `code` owns `unit`: it is in its subtree and not in a child node's."""
    below = [c for c in tree if c != code and c.startswith(code)]
    return unit.startswith(code) and not any(unit.startswith(c) for c in below)


def own_units(code: str, tree: list[str]) -> list[str]:
    """The units whose records the node at `code` owns: its subtree less its child nodes'."""
    return [u for u in UNITS if owned_by(code, u, tree)]


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tree=NODE_TREES,
    operations=st.lists(
        st.tuples(
            st.sampled_from(["write", "write", "move", "delete"]),
            st.sampled_from(KINDS),
            st.integers(0, 60),
            st.integers(0, 60),
        ),
        min_size=1,
        max_size=15,
    ),
)
@example(  # a county writing a grid of a village below it: the county owns no such unit
    tree=["632323", "632323101", "632323101201"], operations=[("write", "grid", 0, 6)]
)
@example(tree=["632322", "632322101", "632322101201"], operations=[("write", "grid", 0, 0)])
async def test_replicas_at_the_top_equal_each_origin_and_sum_up(
    tmp_path_factory: pytest.TempPathFactory,
    tree: list[str],
    operations: list[tuple[str, str, int, int]],
) -> None:
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        await cluster.add("6323", "Huangnan")
        for code in tree:
            parent = code[: {6: 4, 9: 6, 12: 9}[len(code)]]
            await cluster.add(code, code, parent=parent)
        written: list[tuple[str, dict[str, Any]]] = []
        for op, kind, where, variant in operations:
            code = tree[where % len(tree)]
            node = cluster.nodes[code]
            units = own_units(code, tree)
            unit = units[variant % len(units)]
            if op == "write" or not written:
                at, data = data_for(kind, unit, variant)
                if not owned_by(code, at, tree):  # e.g. a grid of a village node below
                    at = unit
                    if kind in ("grid", "patrol"):
                        continue
                stored = await node.write({"kind": kind, "unit": at, "data": data})
                written.append((code, {**stored, "data": data}))  # not as shown masked
                continue
            owner, record = written[variant % len(written)]
            client = cluster.nodes[owner].client
            if op == "delete":
                await client.delete(f"/api/v1/records/{record['id']}")
            elif record["kind"] not in ("grid", "patrol"):
                choices = own_units(owner, tree)
                moved_to = choices[variant % len(choices)]
                await client.put(
                    f"/api/v1/records/{record['id']}",
                    json={"kind": record["kind"], "unit": moved_to, "data": record["data"]},
                )
        await cluster.sync()
        top = cluster.nodes["6323"].client
        for code in tree:
            mine = cluster.nodes[code].client
            for name in ("summary", "population", "disputes", "governance", "legal"):
                origin = (await mine.get(f"/api/v1/views/{name}")).json()
                replica = (await top.get(f"/api/v1/views/{name}", params={"unit": code})).json()
                for field in (
                    "counts",
                    "persons",
                    "accepted",
                    "recovered_yuan_exact",
                    "grids",
                    "attendance",
                ):
                    assert origin.get(field) == replica.get(field), (name, code, field)
        await check_every_unit(top, ["6323", *tree])
    finally:
        await cluster.close()
